"""Catalog stage: product schema, filters, loaders."""

from shelfwise.catalog.loader import CatalogLoad, ProductFields, load_catalog
from shelfwise.catalog.schema import Catalog, Filters, Product

__all__ = ["Catalog", "CatalogLoad", "Filters", "Product", "ProductFields", "load_catalog"]
