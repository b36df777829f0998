"""The run report: one self-contained HTML page and a Markdown summary, built from a run directory's files.

    steep report runs/demo                # rebuild runs/demo/eval/report.html and report.md
    from steep.report.build import write_report
    write_report(Path("runs/demo"))       # the same from Python; eval calls it at the end of its run

`collect` reads the run directory into a plain dict (manifests, loss curves, eval metrics and answers, rs
dialogues), `svg` draws charts as inline SVG strings, `html` and `markdown` render that dict. The report reads
files only: no model, no torch, no network, so it opens offline and rebuilds in well under a second.
"""
