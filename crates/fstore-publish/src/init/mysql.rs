//! `online init` on MySQL/Aurora: the SQL lives in [`fstore_online::mysql::admin`]; this is the
//! glue between it and the shared flow of [`super`].

use fstore_core::config::MysqlConfig;
use fstore_online::StoreError;
use fstore_online::mysql::admin::{UserPlan, admin_connect, check_plan, provision_into};

use super::{InitOptions, InitReport, Planned};
use crate::Result;

/// The administrator's connection to a MySQL store.
pub(super) struct Admin<'a> {
    cfg: &'a MysqlConfig,
    host: &'a str,
    conn: mysql_async::Conn,
}

fn plan(p: &Planned) -> UserPlan<'_> {
    UserPlan {
        name: &p.name,
        password: p.new_password.as_ref().map(|s| s.expose_secret()),
    }
}

impl<'a> Admin<'a> {
    /// Checks the names and passwords, then connects as the administrator.
    pub async fn connect(
        cfg: &'a MysqlConfig,
        host: &'a str,
        opts: &InitOptions,
        writer: &Planned,
        reader: &Planned,
    ) -> Result<Self> {
        check_plan(cfg, host, &plan(writer), &plan(reader))?;
        let conn =
            admin_connect(cfg, &opts.admin_user, opts.admin_password.expose_secret()).await?;
        Ok(Self { cfg, host, conn })
    }

    pub async fn provision(
        &mut self,
        writer: &Planned,
        reader: &Planned,
        report: &mut InitReport,
    ) -> std::result::Result<(), StoreError> {
        report.database = self.cfg.database.clone();
        provision_into(
            &mut self.conn,
            self.cfg,
            self.host,
            &plan(writer),
            &plan(reader),
            &mut report.provision,
        )
        .await
    }

    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }
}
