//! Adopting an existing Delta table written by someone else (Spark, another delta-rs program) as
//! a feature table: either at its place under the root, or anywhere else by recording a link file
//! `<root>/<schema>/<table>.fstore-link`. Only metadata changes — the spec goes into the table's
//! properties and description; no data is rewritten, and (as in Databricks) the uniqueness of
//! existing keys is not checked.

use deltalake::operations::update_table_metadata::TableMetadataUpdate;
use fstore_core::{TableName, TableSpec};

use crate::error::{Error, Result};
use crate::location::{display_url, root_url};
use crate::store::{OfflineStore, arrow_schema_of, feature_table, spec_of};
use crate::table::FeatureTable;
use crate::write::check_description;

impl OfflineStore {
    /// Registers the Delta table at `<root>/<schema>/<table>` (`path` = `None`) or at `path`
    /// (a local path or URL) as the feature table `name`, after checking `spec` against the
    /// table's schema. A table that already is a feature table cannot be registered again.
    pub async fn register(
        &self,
        name: &TableName,
        path: Option<&str>,
        spec: TableSpec,
    ) -> Result<FeatureTable> {
        let tname = name.to_string();
        check_description(&tname, spec.description.as_deref())?;
        let own = self.table_url(name);
        let link = self.root.read_link(name).await?;
        let target = match path {
            None => own.clone(),
            Some(p) => root_url(p)?,
        };
        let linked = target != own;
        if let Some(existing) = &link
            && (!linked || *existing != target)
        {
            return Err(Error::TableExists {
                name: tname,
                location: format!("{} (registered by a link)", display_url(existing)),
            });
        }
        if linked && self.load_delta(&own).await?.is_some() {
            return Err(Error::TableExists {
                name: tname,
                location: display_url(&own),
            });
        }

        let Some(mut table) = self.load_delta(&target).await? else {
            return Err(Error::NotADeltaTable {
                name: tname,
                location: display_url(&target),
            });
        };
        if let Some(existing) = spec_of(&table)? {
            return Err(Error::AlreadyFeatureTable {
                location: display_url(&target),
                primary_keys: existing.row_keys().join(", "),
            });
        }
        spec.validate_against(arrow_schema_of(&table)?.as_ref())?;
        self.root.check_commit(&target).await?;

        // Description first: the properties commit is what makes the table a feature table, so
        // a failure in between leaves a plain Delta table that can be registered again.
        if let Some(description) = &spec.description {
            table = table
                .update_table_metadata()
                .with_update(TableMetadataUpdate {
                    name: None,
                    description: Some(description.clone()),
                })
                .await
                .map_err(Error::delta(format!(
                    "setting the description of {}",
                    display_url(&target)
                )))?;
        }
        table = table
            .set_tbl_properties()
            .with_properties(spec.to_properties())
            .with_raise_if_not_exists(false)
            .await
            .map_err(Error::delta(format!(
                "recording the spec in {}",
                display_url(&target)
            )))?;
        if linked && link.is_none() {
            self.root.write_link(name, &target).await?;
        }
        let recorded = spec_of(&table)?.ok_or_else(|| {
            Error::Internal(format!(
                "the spec written to {} did not read back",
                display_url(&target)
            ))
        })?;
        feature_table(name.clone(), recorded, table, linked)
    }
}
