# The plan: every training job and network the config asks for, computed once by
# trainability.pipeline.plan.plan (the same function that gives the training rules their
# bundles) and written to a file, which the report reads for the networks that should exist.


rule plan:
    conda:
        "../envs/trainability.yaml"
    output:
        "results/plan.json",
    params:
        config=lambda wildcards: json.dumps(config, sort_keys=True, default=str),
    log:
        "results/logs/plan.log",
    message:
        "Writing the plan: every job and network of the grid"
    shell:
        "trainability plan --config-json {params.config:q} --out {output} > {log} 2>&1"
