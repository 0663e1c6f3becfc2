rule data:
    conda:
        "../envs/trainability.yaml"
    output:
        "results/data/{dataset}.json",
    params:
        root=config["data_root"],
    log:
        "results/logs/data/{dataset}.log",
    message:
        "Checking the {wildcards.dataset} files"
    shell:
        "trainability data {wildcards.dataset} --root {params.root:q} --out {output} 2> {log}"
        " || (cat {log} >&2; exit 1)"
