rule train_sweep:
    conda:
        "../envs/trainability.yaml"
    input:
        data=data_marker,
    output:
        run=directory("results/runs/{shape}/sweep"),
    params:
        bundle=bundle_json("sweep"),
        checkpoint_every=checkpoint_interval,
    log:
        "results/logs/train/{shape}-sweep.log",
    benchmark:
        "results/benchmarks/train/{shape}-sweep.tsv"
    threads: 2
    message:
        "Training {wildcards.shape}: every configuration at every learning rate"
    shell:
        "trainability train --config-json {params.bundle:q} --out {output.run}"
        " --checkpoint-every {params.checkpoint_every} --overwrite --quiet > {log} 2>&1"


rule select_learning_rates:
    conda:
        "../envs/trainability.yaml"
    input:
        sweep="results/runs/{shape}/sweep",
    output:
        "results/runs/{shape}/selection.json",
    log:
        "results/logs/select/{shape}.log",
    message:
        "Selecting learning rates on validation error for {wildcards.shape}"
    shell:
        "trainability select --sweep {input.sweep} --out {output} > {log} 2>&1"


rule train_seeds:
    conda:
        "../envs/trainability.yaml"
    input:
        data=data_marker,
        selection="results/runs/{shape}/selection.json",
    output:
        run=directory("results/runs/{shape}/seeds"),
    params:
        bundle=bundle_json("seeds"),
        checkpoint_every=checkpoint_interval,
    log:
        "results/logs/train/{shape}-seeds.log",
    benchmark:
        "results/benchmarks/train/{shape}-seeds.tsv"
    threads: 2
    message:
        "Training {wildcards.shape}: the selected learning rates with the other seeds"
    shell:
        "trainability train --config-json {params.bundle:q} --lr-from {input.selection}"
        " --out {output.run} --checkpoint-every {params.checkpoint_every}"
        " --overwrite --quiet > {log} 2>&1"
