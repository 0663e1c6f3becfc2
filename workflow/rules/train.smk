# The two training stages. Each job trains one bundle (every configuration of one shape) and
# checkpoints once per evaluation interval, so a killed, preempted or timed-out job resumes
# where it stopped when rerun (or requeued by Slurm). Resources: `runtime` (minutes) and
# `mem_mb` are estimated from the bundle and the budget (trainability.pipeline.resources);
# `gpu` and `cpus_per_gpu` are declared only with config gpu: 1. The command runs under
# trainability.pipeline.gpus, which gives each concurrent job a GPU of its own on a machine
# without a scheduler (`--resources gpu=N`); it does nothing without CUDA or under Slurm.


rule train_sweep:
    conda:
        "../envs/trainability.yaml"
    input:
        data=data_marker,
    output:
        run=directory("results/runs/{shape}/sweep"),
    params:
        bundle=sweep_bundle,
        checkpoint_every=checkpoint_interval,
    log:
        "results/logs/train/{shape}-sweep.log",
    benchmark:
        "results/benchmarks/train/{shape}-sweep.tsv"
    threads: 2
    resources:
        runtime=train_runtime("sweep"),
        mem_mb=train_mem_mb("sweep"),
        **gpu_resources(),
    message:
        "Training {wildcards.shape}: every configuration at every learning rate"
    shell:
        "python -m trainability.pipeline.gpus -- trainability train"
        " --config-json {params.bundle:q} --out {output.run}"
        " --checkpoint-every {params.checkpoint_every} --overwrite --quiet > {log} 2>&1"


rule select_learning_rates:
    conda:
        "../envs/trainability.yaml"
    input:
        sweep=rules.train_sweep.output.run,
    output:
        "results/runs/{shape}/selection.json",
    log:
        "results/logs/select/{shape}.log",
    message:
        "Selecting learning rates on validation error for {wildcards.shape}"
    shell:
        "trainability select --sweep {input.sweep} --out {output} > {log} 2>&1"


rule seeds_bundle:
    conda:
        "../envs/trainability.yaml"
    input:
        selection=rules.select_learning_rates.output,
    output:
        "results/runs/{shape}/seeds-bundle.json",
    params:
        job=seeds_job,
    log:
        "results/logs/select/{shape}-seeds-bundle.log",
    message:
        "Writing the seeds stage of {wildcards.shape}: the selected rates with the other seeds"
    shell:
        "trainability seeds --job-json {params.job:q} --selection {input.selection}"
        " --out {output} > {log} 2>&1"


rule train_seeds:
    conda:
        "../envs/trainability.yaml"
    input:
        data=data_marker,
        bundle=rules.seeds_bundle.output,
    output:
        run=directory("results/runs/{shape}/seeds"),
    params:
        checkpoint_every=checkpoint_interval,
    log:
        "results/logs/train/{shape}-seeds.log",
    benchmark:
        "results/benchmarks/train/{shape}-seeds.tsv"
    threads: 2
    resources:
        runtime=train_runtime("seeds"),
        mem_mb=train_mem_mb("seeds"),
        **gpu_resources(),
    message:
        "Training {wildcards.shape}: the selected learning rates with the other seeds"
    shell:
        "python -m trainability.pipeline.gpus -- trainability train"
        " --config {input.bundle} --out {output.run}"
        " --checkpoint-every {params.checkpoint_every} --overwrite --quiet > {log} 2>&1"
