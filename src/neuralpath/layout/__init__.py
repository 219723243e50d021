"""Layout stage: Jinja2 templates turn the resolved site and rendered bodies into pages."""
