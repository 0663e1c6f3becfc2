rule report:
    conda:
        "../envs/trainability.yaml"
    input:
        tables=rules.aggregate.output.tables,
        figures=expand(rules.figure.output.png, figure=FIGURES),
        table1=rules.table1.output,
        claims=rules.claims.output,
        plan=rules.plan.output,
    output:
        report("reports/report.html", caption="../report/report.rst", category="Report"),
    log:
        "results/logs/report.log",
    message:
        "Writing reports/report.html"
    shell:
        "trainability report --out {output} --tables {input.tables} --figures reports/figures"
        " --table1 {input.table1} --claims {input.claims} --benchmarks results/benchmarks"
        " --plan {input.plan} > {log} 2>&1"
