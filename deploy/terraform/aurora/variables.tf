# Inputs of the fstore Aurora MySQL walk-through. Only allowed_cidrs is required: there is
# deliberately no default that opens MySQL to the internet.

variable "region" {
  description = "AWS region to create the cluster in."
  type        = string
  default     = "us-east-1"
}

variable "vpc_id" {
  description = "VPC to create the cluster in. null (the default) uses the account's default VPC."
  type        = string
  default     = null
}

variable "allowed_cidrs" {
  description = "CIDR blocks allowed to connect to MySQL (port 3306), e.g. [\"203.0.113.7/32\"] for your own address. Required: nothing is reachable by default."
  type        = list(string)

  validation {
    condition     = length(var.allowed_cidrs) > 0
    error_message = "allowed_cidrs must name at least one CIDR block (e.g. your address as x.x.x.x/32)."
  }

  validation {
    condition     = alltrue([for c in var.allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "Every entry of allowed_cidrs must be a CIDR block such as 203.0.113.7/32."
  }
}

variable "instance_class" {
  description = "Instance class of the single cluster instance."
  type        = string
  default     = "db.t4g.medium"
}

variable "engine_version" {
  description = "Aurora MySQL 3.x (MySQL 8.0 compatible) engine version."
  type        = string
  default     = "8.0.mysql_aurora.3.08.0"

  validation {
    condition     = startswith(var.engine_version, "8.0.mysql_aurora.3.")
    error_message = "engine_version must be an Aurora MySQL 3.x version, e.g. 8.0.mysql_aurora.3.08.0."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the cluster. Set to false (and apply) before `terraform destroy`."
  type        = bool
  default     = true
}

variable "cluster_identifier" {
  description = "Name of the Aurora cluster; also the prefix of the instance, subnet group and security group names."
  type        = string
  default     = "feature-store"
}

variable "database_name" {
  description = "Database created in the cluster, where fstore publishes online tables."
  type        = string
  default     = "feature_store"
}

variable "master_username" {
  description = "Master (admin) user; fstore uses it only in `fstore online init`."
  type        = string
  default     = "admin"
}

variable "publicly_accessible" {
  description = "Give the instance a public address. Needed to connect from outside the VPC (a laptop, another cloud); access is still limited to allowed_cidrs."
  type        = bool
  default     = false
}

variable "skip_final_snapshot" {
  description = "Skip the final snapshot when the cluster is destroyed. false keeps a snapshot named <cluster_identifier>-final."
  type        = bool
  default     = false
}
