"""What one replication is given; nothing here imports the rest of the model.

The parameter schema (``params``), the registries of design and mechanism names it validates
against (``registry``), the KPIs' declared directions and units (``outcomes``), the codes the
customer columns hold (``codes``) and config files read safely (``config_files``).
"""
