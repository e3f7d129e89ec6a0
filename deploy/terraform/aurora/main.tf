# The walk-through's resources: a security group admitting MySQL from allowed_cidrs only, an
# encrypted Aurora MySQL cluster with database feature_store, and one instance that serves both
# reads and writes. For demonstration: a production deployment needs more (replicas, backups, IAM).

data "aws_vpc" "default" {
  count   = var.vpc_id == null ? 1 : 0
  default = true
}

locals {
  vpc_id = var.vpc_id != null ? var.vpc_id : data.aws_vpc.default[0].id
}

data "aws_subnets" "selected" {
  filter {
    name   = "vpc-id"
    values = [local.vpc_id]
  }
}

resource "aws_db_subnet_group" "aurora" {
  name       = "${var.cluster_identifier}-subnets"
  subnet_ids = data.aws_subnets.selected.ids
}

resource "aws_security_group" "aurora" {
  name_prefix = "${var.cluster_identifier}-"
  description = "MySQL access to the ${var.cluster_identifier} Aurora cluster from allowed CIDRs only"
  vpc_id      = local.vpc_id

  ingress {
    description = "MySQL from allowed_cidrs"
    from_port   = 3306
    to_port     = 3306
    protocol    = "tcp"
    cidr_blocks = var.allowed_cidrs
  }

  lifecycle {
    create_before_destroy = true
  }
}

# RDS rejects '/', '@', '"' and spaces in master passwords: keep specials to a safe set.
resource "random_password" "master" {
  length           = 32
  special          = true
  override_special = "!#$%^&*()-_=+[]{}<>:?"
}

resource "aws_rds_cluster" "aurora" {
  cluster_identifier = var.cluster_identifier
  engine             = "aurora-mysql"
  engine_version     = var.engine_version
  database_name      = var.database_name
  master_username    = var.master_username
  master_password    = random_password.master.result
  port               = 3306

  db_subnet_group_name   = aws_db_subnet_group.aurora.name
  vpc_security_group_ids = [aws_security_group.aurora.id]

  storage_encrypted         = true
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = var.skip_final_snapshot
  final_snapshot_identifier = var.skip_final_snapshot ? null : "${var.cluster_identifier}-final"
  backup_retention_period   = 1
  copy_tags_to_snapshot     = true
  apply_immediately         = true
}

resource "aws_rds_cluster_instance" "aurora" {
  identifier           = "${var.cluster_identifier}-1"
  cluster_identifier   = aws_rds_cluster.aurora.id
  instance_class       = var.instance_class
  engine               = aws_rds_cluster.aurora.engine
  engine_version       = aws_rds_cluster.aurora.engine_version
  db_subnet_group_name = aws_db_subnet_group.aurora.name
  publicly_accessible  = var.publicly_accessible
  apply_immediately    = true
}
