# trainability: replicate Glorot & Bengio (2010) end to end.
#   snakemake --cores all                       the quick preset (config.yaml)
#   snakemake --cores all --config scale=smoke  minutes; what CI runs
#   snakemake --profile profiles/slurm          the same workflow on a Slurm cluster
# The rules live in workflow/rules/; the science lives in the `trainability` package.

configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/plan.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/report.smk"


report: "workflow/report/workflow.rst"


onstart:
    print(f"trainability: scale={config['scale']}, datasets={DATASETS}, "
          f"{len(PLAN.jobs)} training jobs")


onsuccess:
    print("trainability: done; open reports/report.html")


onerror:
    print("trainability: a job failed; fix it and rerun the same command to pick up the rest")


rule all:
    default_target: True
    input:
        "reports/report.html",
        "results/tensorboard" if config["tensorboard"] else [],
