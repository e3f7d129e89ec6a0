//! Parses every `.tf` file of `deploy/terraform/aurora` with hcl-rs and checks what PRODUCT §8 and
//! `docs/aurora.md` promise: the security group admits MySQL from `allowed_cidrs` only, the Aurora
//! MySQL cluster is encrypted and creates `feature_store`, there is one instance, the variables have
//! safe defaults (no 0.0.0.0/0, deletion protection on) and the outputs include a sensitive password.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hcl::{Block, Body, Expression};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every top-level block of every `.tf` file, with the file it came from.
struct Module {
    blocks: Vec<(String, Block)>,
    /// All files re-formatted from the parse (comments dropped), for whole-module text checks.
    formatted: String,
}

fn load() -> Module {
    let dir = repo_root().join("deploy/terraform/aurora");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tf"))
        .collect();
    files.sort();
    let names: Vec<_> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in ["main.tf", "outputs.tf", "variables.tf", "versions.tf"] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    let mut blocks = Vec::new();
    let mut formatted = String::new();
    for (path, name) in files.iter().zip(names) {
        let text = std::fs::read_to_string(path).unwrap();
        let body: Body = hcl::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        formatted.push_str(&hcl::format::to_string(&body).unwrap());
        assert!(
            body.attributes().next().is_none(),
            "{name}: top-level attributes are not Terraform"
        );
        blocks.extend(body.blocks().map(|b| (name.clone(), b.clone())));
    }
    Module { blocks, formatted }
}

impl Module {
    fn all(&self, kind: &str, labels: &[&str]) -> Vec<&Block> {
        self.blocks
            .iter()
            .map(|(_, b)| b)
            .filter(|b| {
                b.identifier() == kind
                    && b.labels().len() >= labels.len()
                    && labels
                        .iter()
                        .zip(b.labels())
                        .all(|(l, bl)| *l == bl.as_str())
            })
            .collect()
    }

    fn one(&self, kind: &str, labels: &[&str]) -> &Block {
        match self.all(kind, labels).as_slice() {
            [b] => b,
            other => panic!(
                "expected exactly one {kind} {labels:?}, found {}",
                other.len()
            ),
        }
    }

    fn file_of(&self, block: &Block) -> &str {
        &self.blocks.iter().find(|(_, b)| b == block).unwrap().0
    }

    fn variable(&self, name: &str) -> &Block {
        self.one("variable", &[name])
    }

    fn names(&self, kind: &str) -> BTreeSet<String> {
        self.all(kind, &[])
            .iter()
            .map(|b| b.labels()[0].as_str().to_string())
            .collect()
    }
}

fn attr<'a>(block: &'a Block, key: &str) -> Option<&'a Expression> {
    block
        .body()
        .attributes()
        .find(|a| a.key() == key)
        .map(|a| a.expr())
}

/// An attribute as HCL source text, e.g. `var.database_name` or `"aurora-mysql"`.
fn src(block: &Block, key: &str) -> String {
    attr(block, key)
        .unwrap_or_else(|| {
            panic!(
                "{} {:?} has no `{key}`",
                block.identifier(),
                block
                    .labels()
                    .iter()
                    .map(|l| l.as_str())
                    .collect::<Vec<_>>()
            )
        })
        .to_string()
}

fn nested<'a>(block: &'a Block, kind: &str) -> Vec<&'a Block> {
    block
        .body()
        .blocks()
        .filter(|b| b.identifier() == kind)
        .collect()
}

#[test]
fn security_group_admits_mysql_from_allowed_cidrs_only() {
    let m = load();
    let sg = m.one("resource", &["aws_security_group"]);
    assert_eq!(m.file_of(sg), "main.tf");
    let ingress = nested(sg, "ingress");
    assert_eq!(ingress.len(), 1, "one ingress rule");
    let rule = ingress[0];
    assert_eq!(src(rule, "from_port"), "3306");
    assert_eq!(src(rule, "to_port"), "3306");
    assert_eq!(src(rule, "protocol"), "\"tcp\"");
    assert_eq!(src(rule, "cidr_blocks"), "var.allowed_cidrs");
    assert!(attr(rule, "ipv6_cidr_blocks").is_none());
    assert!(
        m.all("resource", &["aws_vpc_security_group_ingress_rule"])
            .is_empty()
            && m.all("resource", &["aws_security_group_rule"]).is_empty(),
        "no rules outside the group"
    );
    for open in ["0.0.0.0/0", "::/0"] {
        assert!(
            !m.formatted.contains(open),
            "{open} appears in the Terraform"
        );
    }
}

#[test]
fn encrypted_aurora_mysql_cluster_with_feature_store_database() {
    let m = load();
    let cluster = m.one("resource", &["aws_rds_cluster"]);
    let name = cluster.labels()[1].as_str();
    assert_eq!(src(cluster, "engine"), "\"aurora-mysql\"");
    assert_eq!(src(cluster, "engine_version"), "var.engine_version");
    assert_eq!(src(cluster, "storage_encrypted"), "true");
    assert_eq!(src(cluster, "database_name"), "var.database_name");
    assert_eq!(src(cluster, "cluster_identifier"), "var.cluster_identifier");
    assert_eq!(src(cluster, "master_username"), "var.master_username");
    assert_eq!(
        src(cluster, "deletion_protection"),
        "var.deletion_protection"
    );
    assert_eq!(
        src(cluster, "skip_final_snapshot"),
        "var.skip_final_snapshot"
    );
    assert!(
        src(cluster, "vpc_security_group_ids").contains("aws_security_group."),
        "the cluster uses the security group"
    );
    // The password is generated, never a literal or a variable someone could commit.
    match attr(cluster, "master_password") {
        Some(p) => assert!(p.to_string().starts_with("random_password."), "{p}"),
        None => assert_eq!(src(cluster, "manage_master_user_password"), "true"),
    }
    if attr(cluster, "master_password").is_some() {
        let pw = m.one("resource", &["random_password"]);
        let len: u64 = src(pw, "length").parse().unwrap();
        assert!(len >= 20, "master password length {len}");
    }

    let instances = m.all("resource", &["aws_rds_cluster_instance"]);
    assert_eq!(instances.len(), 1, "one instance serving reads and writes");
    let inst = instances[0];
    assert!(attr(inst, "count").is_none() && attr(inst, "for_each").is_none());
    assert_eq!(
        src(inst, "cluster_identifier"),
        format!("aws_rds_cluster.{name}.id")
    );
    assert_eq!(src(inst, "instance_class"), "var.instance_class");
    assert_eq!(src(inst, "publicly_accessible"), "var.publicly_accessible");
    assert!(src(inst, "engine").contains("aws_rds_cluster."));
}

#[test]
fn variables_have_safe_defaults() {
    let m = load();
    let declared = m.names("variable");
    let want = [
        "region",
        "vpc_id",
        "allowed_cidrs",
        "instance_class",
        "engine_version",
        "deletion_protection",
        "cluster_identifier",
        "database_name",
        "master_username",
        "publicly_accessible",
        "skip_final_snapshot",
    ];
    for v in want {
        assert!(declared.contains(v), "variable {v} missing");
        let b = m.variable(v);
        assert_eq!(m.file_of(b), "variables.tf", "{v}");
        assert!(attr(b, "description").is_some(), "{v} has no description");
        assert!(attr(b, "type").is_some(), "{v} has no type");
    }

    // allowed_cidrs: required, or an empty default; never anything containing the open internet.
    let cidrs = m.variable("allowed_cidrs");
    assert_eq!(src(cidrs, "type"), "list(string)");
    match attr(cidrs, "default") {
        None => {}
        Some(Expression::Array(a)) => assert!(a.is_empty(), "allowed_cidrs default {a:?}"),
        Some(other) => panic!("allowed_cidrs default {other}"),
    }
    assert!(
        !nested(cidrs, "validation").is_empty(),
        "allowed_cidrs is validated"
    );

    let default = |v: &str| src(m.variable(v), "default");
    assert_eq!(default("deletion_protection"), "true");
    assert_eq!(default("publicly_accessible"), "false");
    assert_eq!(default("instance_class"), "\"db.t4g.medium\"");
    assert_eq!(default("cluster_identifier"), "\"feature-store\"");
    assert_eq!(default("database_name"), "\"feature_store\"");
    assert_eq!(default("master_username"), "\"admin\"");
    assert_eq!(
        default("vpc_id"),
        "null",
        "the default VPC unless told otherwise"
    );
    assert!(
        default("engine_version").starts_with("\"8.0.mysql_aurora.3."),
        "Aurora MySQL 3.x: {}",
        default("engine_version")
    );
    for b in [
        "deletion_protection",
        "publicly_accessible",
        "skip_final_snapshot",
    ] {
        assert_eq!(src(m.variable(b), "type"), "bool", "{b}");
    }

    // The default VPC is looked up when vpc_id is null.
    let vpc = m.one("data", &["aws_vpc"]);
    assert_eq!(src(vpc, "default"), "true");
}

#[test]
fn every_variable_is_used_and_every_reference_declared() {
    let m = load();
    let declared = m.names("variable");
    let text = &m.formatted;
    let mut used = BTreeSet::new();
    for (i, _) in text.match_indices("var.") {
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = text[i + 4..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        used.insert(name);
    }
    let undeclared: Vec<_> = used.difference(&declared).collect();
    let unused: Vec<_> = declared.difference(&used).collect();
    assert!(
        undeclared.is_empty(),
        "undeclared variables: {undeclared:?}"
    );
    assert!(unused.is_empty(), "unused variables: {unused:?}");
}

#[test]
fn outputs_include_a_sensitive_master_password() {
    let m = load();
    for o in [
        "endpoint",
        "reader_endpoint",
        "port",
        "master_username",
        "master_password",
        "database_name",
    ] {
        let b = m.one("output", &[o]);
        assert_eq!(m.file_of(b), "outputs.tf", "{o}");
        assert!(attr(b, "description").is_some(), "{o} has no description");
        let value = src(b, "value");
        assert!(
            value.starts_with("aws_rds_cluster.") || value.starts_with("random_password."),
            "{o} = {value}"
        );
        let sensitive = attr(b, "sensitive").map(|e| e.to_string());
        if o == "master_password" {
            assert_eq!(
                sensitive.as_deref(),
                Some("true"),
                "master_password must be sensitive"
            );
        }
    }
    let cluster = m.one("resource", &["aws_rds_cluster"]);
    let name = cluster.labels()[1].as_str();
    assert_eq!(
        src(m.one("output", &["endpoint"]), "value"),
        format!("aws_rds_cluster.{name}.endpoint")
    );
    assert_eq!(
        src(m.one("output", &["reader_endpoint"]), "value"),
        format!("aws_rds_cluster.{name}.reader_endpoint")
    );
}

#[test]
fn providers_are_pinned() {
    let m = load();
    let tf = m.one("terraform", &[]);
    assert_eq!(m.file_of(tf), "versions.tf");
    assert!(attr(tf, "required_version").is_some());
    let req = nested(tf, "required_providers");
    assert_eq!(req.len(), 1);
    for p in ["aws", "random"] {
        let Some(Expression::Object(obj)) = attr(req[0], p) else {
            panic!("required_providers.{p} missing");
        };
        let get = |k: &str| {
            obj.iter()
                .find(|(key, _)| key.to_string() == k)
                .map(|(_, v)| v.to_string())
                .unwrap_or_else(|| panic!("required_providers.{p}.{k} missing"))
        };
        assert_eq!(get("source"), format!("\"hashicorp/{p}\""));
        assert!(get("version").contains('<'), "{p} has an upper bound");
    }
    assert_eq!(src(m.one("provider", &["aws"]), "region"), "var.region");
}

#[test]
fn docs_cover_every_variable_and_output_and_the_teardown() {
    let m = load();
    let doc = std::fs::read_to_string(repo_root().join("docs/aurora.md")).unwrap();
    for name in m.names("variable").iter().chain(&m.names("output")) {
        assert!(
            doc.contains(&format!("`{name}`")),
            "docs/aurora.md does not mention `{name}`"
        );
    }
    for step in [
        "terraform -chdir=deploy/terraform/aurora init",
        "terraform -chdir=deploy/terraform/aurora apply",
        "output -json",
        "fstore online init --store aurora --admin-user admin",
        "fstore secrets put",
        "--store aurora",
        "SELECT * FROM feature_store.online_feature_table",
        "deletion_protection=false",
        "terraform -chdir=deploy/terraform/aurora destroy",
    ] {
        assert!(doc.contains(step), "docs/aurora.md lacks `{step}`");
    }
}

/// `terraform fmt -check` (it needs no providers or network). Terraform must be installed: this
/// fails, never skips, without it (no package registry this project can reach ships a working
/// `terraform`; install it from https://developer.hashicorp.com/terraform/install or set
/// `FSTORE_TERRAFORM` to an OpenTofu `tofu` binary).
#[test]
fn terraform_fmt_is_clean() {
    let dir = repo_root().join("deploy/terraform/aurora");
    let bin = std::env::var("FSTORE_TERRAFORM").unwrap_or_else(|_| "terraform".into());
    let out = std::process::Command::new(&bin)
        .args(["fmt", "-check", "-diff", "-no-color"])
        .current_dir(&dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{bin}` ({e}): this test checks the formatting of deploy/terraform/aurora and needs Terraform; install it (https://developer.hashicorp.com/terraform/install) or set FSTORE_TERRAFORM to a terraform or tofu binary"
            )
        });
    assert!(
        out.status.success(),
        "terraform fmt -check failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
