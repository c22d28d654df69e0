"""Roles, permissions, visibility scopes and approval rules (Z1-Z9).

Built by the authorization issue."""
