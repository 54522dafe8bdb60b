"""The resilience tier: regions, replication, failover and routing, measured on real parts."""
