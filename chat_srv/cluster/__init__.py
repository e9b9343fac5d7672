"""Several server nodes as one: MySQL is the log, a broker (Redis) the fast, lossy
transport between the nodes (docs/cluster.md)."""
