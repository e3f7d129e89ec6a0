# What fstore needs to reach the cluster. master_password is sensitive: `terraform output` redacts
# it; `terraform output -json` (or `-raw master_password`) shows it.

output "endpoint" {
  description = "Writer endpoint: the `host` of the mysql store in fstore.toml."
  value       = aws_rds_cluster.aurora.endpoint
}

output "reader_endpoint" {
  description = "Reader endpoint (the same single instance until replicas are added)."
  value       = aws_rds_cluster.aurora.reader_endpoint
}

output "port" {
  description = "MySQL port."
  value       = aws_rds_cluster.aurora.port
}

output "database_name" {
  description = "Database fstore publishes into."
  value       = aws_rds_cluster.aurora.database_name
}

output "master_username" {
  description = "Admin user for `fstore online init --admin-user`."
  value       = aws_rds_cluster.aurora.master_username
}

output "master_password" {
  description = "Admin password: give it to `fstore online init` on stdin, never as an argument."
  value       = random_password.master.result
  sensitive   = true
}
