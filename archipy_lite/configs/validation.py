"""Re-export of ``archipy_lite.models.validation`` (the configuration models' validation lives there)."""

from archipy_lite.models.validation import ConfigurationMeta, configuration_error_from

__all__ = ["ConfigurationMeta", "configuration_error_from"]
