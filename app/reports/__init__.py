"""Reports for people: CSV tables and HTML pages with charts."""

from app.reports.audit_report import render_audit_report, write_audit_csvs

__all__ = ["render_audit_report", "write_audit_csvs"]
