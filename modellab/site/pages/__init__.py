"""One function per page type; :func:`modellab.site.build.build_site` calls them in turn.

Each takes a :class:`~modellab.site.layout.PageWriter` (the site folder, the Jinja environment,
the nav and the context every page shares) and the data the page shows. Run permalink pages,
the part of the site that grows with the results, are rendered by :mod:`modellab.site.run_pages`.
"""

from modellab.site.pages.datasets import write_dataset_page, write_dataset_pages, write_datasets_page
from modellab.site.pages.experiments import write_experiment_page, write_experiment_pages, write_experiments_page
from modellab.site.pages.findings import write_candidates_page, write_findings_pages
from modellab.site.pages.languages import write_languages_page
from modellab.site.pages.leaderboard import write_charts_page, write_index_page
from modellab.site.pages.models import write_model_page, write_model_pages, write_models_page
from modellab.site.pages.mos import write_mos_page
from modellab.site.pages.runs import write_runs_page
from modellab.site.pages.workbench import write_workbench_page

__all__ = [
    "write_candidates_page",
    "write_charts_page",
    "write_dataset_page",
    "write_dataset_pages",
    "write_datasets_page",
    "write_experiment_page",
    "write_experiment_pages",
    "write_experiments_page",
    "write_findings_pages",
    "write_index_page",
    "write_languages_page",
    "write_model_page",
    "write_model_pages",
    "write_models_page",
    "write_mos_page",
    "write_runs_page",
    "write_workbench_page",
]
