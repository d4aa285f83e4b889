"""The only place that imports Dagster's private API: what the public API does not expose."""

from dagster._core.definitions.data_version import (
    DATA_VERSION_TAG,
    CachingStaleStatusResolver,
    StaleStatus,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

__all__ = [
    "DATA_VERSION_TAG",
    "AssetCheckExecutionRecordStatus",
    "CachingStaleStatusResolver",
    "StaleStatus",
]
