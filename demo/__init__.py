"""Demo and benchmark data: the readable demo world and generated worlds at scale."""
