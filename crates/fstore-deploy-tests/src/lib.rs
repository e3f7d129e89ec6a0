//! Tests of the deployment files under `deploy/`: `tests/terraform.rs` parses
//! `deploy/terraform/aurora/*.tf` and checks the resources, variables and outputs that
//! `docs/aurora.md` promises. This library is intentionally empty.
