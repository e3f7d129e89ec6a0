"""``from fstore.databricks.online_store_spec import AmazonRdsMySqlSpec`` (Databricks' path)."""

from ..specs import AmazonRdsMySqlSpec, AzureMySqlSpec

__all__ = ["AmazonRdsMySqlSpec", "AzureMySqlSpec"]
