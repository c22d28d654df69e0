"""The super-admin site (Z8): the only web code allowed to import tenants.cross_tenant (T3)."""
