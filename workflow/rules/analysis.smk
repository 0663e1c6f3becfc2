rule aggregate:
    input:
        runs=run_folders,
    output:
        directory("results/tables"),
    log:
        "results/logs/aggregate.log",
    message:
        "Merging {input.runs:q} into tidy tables"
    shell:
        "{TRAINABILITY} aggregate --out {output} {input.runs} > {log} 2>&1"


rule figure:
    input:
        unpack(figure_inputs),
    output:
        png=report(
            "reports/figures/{figure}.png",
            caption="../report/figure.rst",
            category="Figures",
        ),
        svg="reports/figures/{figure}.svg",
    params:
        caption=figure_caption,
        tables=figure_tables_flag,
    log:
        "results/logs/figures/{figure}.log",
    message:
        "Drawing {wildcards.figure}"
    shell:
        "{TRAINABILITY} figure {wildcards.figure} {params.tables}"
        " --out reports/figures/{wildcards.figure} > {log} 2>&1"


rule table1:
    input:
        tables="results/tables",
    output:
        report("reports/table1.csv", caption="../report/table1.rst", category="Tables"),
    log:
        "results/logs/table1.log",
    message:
        "Computing Table 1"
    shell:
        "{TRAINABILITY} table1 --tables {input.tables} --out {output} > {log} 2>&1"


rule claims:
    input:
        tables="results/tables",
    output:
        report("reports/claims.json", caption="../report/claims.rst", category="Tables"),
    log:
        "results/logs/claims.log",
    message:
        "Deciding every claim of the ledger"
    shell:
        "{TRAINABILITY} claims --tables {input.tables} --out {output} > {log} 2>&1"
