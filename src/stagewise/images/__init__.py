"""Docker images without a registry: Debian root filesystems made with debootstrap."""
