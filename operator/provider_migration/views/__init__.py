"""Read model and terminal widgets shared by the CLI, reports and the workshop: no cluster, no clock."""
