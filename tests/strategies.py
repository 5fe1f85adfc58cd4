"""Hypothesis strategies shared by the property tests: random worlds, and building them."""

from hypothesis import strategies as st

from divisions.models import Division, Tenant, User
from jobs.models import Job, JobNote


@st.composite
def worlds(draw):
    """A plain description of a world: two or three tenants, scopes, users and jobs."""
    n_tenants = draw(st.integers(2, 3))
    divisions = [(t, draw(st.integers(1, 4))) for t in range(n_tenants)]
    division_keys = [(t, i) for t, count in divisions for i in range(count)]
    scopes = {}
    for t, i in division_keys:
        same_tenant = [k for k in division_keys if k[0] == t and k != (t, i)]
        scopes[t, i] = (
            draw(st.booleans()),
            draw(st.lists(st.sampled_from(same_tenant), unique=True)) if same_tenant else [],
        )
    user = st.tuples(
        st.integers(0, n_tenants),  # n_tenants means no tenant (a platform operator)
        st.one_of(st.none(), st.integers(0, 3)),  # division index within the tenant
        st.booleans(),  # is_active
        st.booleans(),  # is_tenant_admin
        st.booleans(),  # is_staff
    )
    users = draw(st.lists(user, min_size=1, max_size=6))
    job = st.tuples(st.integers(0, n_tenants - 1), st.one_of(st.none(), st.integers(0, 3)))
    jobs = draw(st.lists(job, max_size=16))
    return divisions, scopes, users, jobs


def build(description):
    """Create the described world in the database (inside the caller's transaction)."""
    divisions_per_tenant, scopes, user_rows, job_rows = description
    tenants = [Tenant.objects.create(name=f"T{t}", slug=f"t{t}") for t, _ in divisions_per_tenant]
    divisions = {
        (t, i): Division.objects.create(tenant=tenants[t], name=f"D{t}.{i}")
        for t, count in divisions_per_tenant
        for i in range(count)
    }
    for key, (is_everyone, listed) in scopes.items():
        scope = divisions[key].data_scope
        scope.is_everyone = is_everyone
        scope.save()
        scope.set_divisions([divisions[k] for k in listed])

    def division_of(t, i):
        return None if i is None else divisions.get((t, i % divisions_per_tenant[t][1]))

    users = []
    for n, (t, i, active, admin, staff) in enumerate(user_rows):
        has_tenant = t < len(tenants)
        users.append(
            User.objects.create(
                username=f"u{n}",
                tenant=tenants[t] if has_tenant else None,
                division=division_of(t, i) if has_tenant else None,
                is_active=active,
                is_tenant_admin=admin,
                is_staff=staff,
            )
        )
    for n, (t, i) in enumerate(job_rows):
        job = Job.objects.create(tenant=tenants[t], division=division_of(t, i), title=f"J{n}")
        JobNote.objects.create(job=job, body=f"note {n}")
    return users
