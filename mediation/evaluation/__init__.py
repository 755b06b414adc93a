"""Impact evaluation: funders and programmes, indicators, dashboards, impact reports and exports."""
