rule report:
    conda:
        "../envs/trainability.yaml"
    input:
        tables="results/tables",
        figures=expand("reports/figures/{figure}.png", figure=FIGURES),
        table1="reports/table1.csv",
        claims="reports/claims.json",
    output:
        report("reports/report.html", caption="../report/report.rst", category="Report"),
    params:
        settings=workflow_settings(),
    log:
        "results/logs/report.log",
    message:
        "Writing reports/report.html"
    shell:
        "trainability report --out {output} --tables {input.tables} --figures reports/figures"
        " --table1 {input.table1} --claims {input.claims} --benchmarks results/benchmarks"
        " --settings-json {params.settings:q} > {log} 2>&1"
