rule aggregate:
    conda:
        "../envs/trainability.yaml"
    input:
        unpack(run_folders),
    output:
        tables=directory("results/tables"),
    log:
        "results/logs/aggregate.log",
    message:
        "Merging {input.runs:q} into tidy tables"
    shell:
        "trainability aggregate --out {output.tables} {input.runs} > {log} 2>&1"


rule figure:
    conda:
        "../envs/trainability.yaml"
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
        "trainability figure {wildcards.figure} {params.tables}"
        " --out reports/figures/{wildcards.figure} > {log} 2>&1"


rule table1:
    conda:
        "../envs/trainability.yaml"
    input:
        tables=rules.aggregate.output.tables,
    output:
        report("reports/table1.csv", caption="../report/table1.rst", category="Tables"),
    log:
        "results/logs/table1.log",
    message:
        "Computing Table 1"
    shell:
        "trainability table1 --tables {input.tables} --out {output} > {log} 2>&1"


rule claims:
    conda:
        "../envs/trainability.yaml"
    input:
        tables=rules.aggregate.output.tables,
    output:
        report("reports/claims.json", caption="../report/claims.rst", category="Tables"),
    log:
        "results/logs/claims.log",
    message:
        "Deciding every claim of the ledger"
    shell:
        "trainability claims --tables {input.tables} --out {output} > {log} 2>&1"


rule tensorboard:
    conda:
        "../envs/trainability.yaml"
    input:
        tables=rules.aggregate.output.tables,
    output:
        directory("results/tensorboard"),
    log:
        "results/logs/tensorboard.log",
    message:
        "Exporting every network to TensorBoard (tensorboard --logdir results/tensorboard)"
    shell:
        "trainability export tensorboard {input.tables} {output} > {log} 2>&1"
