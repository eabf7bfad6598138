#!/usr/bin/env python3
"""Generate the 10,000-host benchmark inventory in INI and YAML forms.

Usage: gen_inventory.py OUT_DIR

Layout (both forms share the same tree and variables):
  5 projects -> 4 clusters each -> 5 apps each = 100 apps,
  each app a 100-host range `appNN-[001:100]` (10,000 hosts),
  vars at every level: all, project, cluster, app (inline), the range line,
  plus group_vars/ files (all, every project, some clusters as directories,
  some apps) and host_vars/ files for 100 hosts.

OUT_DIR/ini/hosts.ini and OUT_DIR/yaml/hosts.yml, each with its own
group_vars/ and host_vars/ next to it. Output is deterministic.
"""
import os
import sys

PROJECTS = 5
CLUSTERS_PER_PROJECT = 4
APPS_PER_CLUSTER = 5
HOSTS_PER_APP = 100


def tree():
    """[(project, [(cluster, [(app, app_index)])])]"""
    app_index = 0
    projects = []
    for p in range(PROJECTS):
        project = f"proj{p}"
        clusters = []
        for c in range(CLUSTERS_PER_PROJECT):
            cluster = f"{project}_c{c}"
            apps = []
            for _ in range(APPS_PER_CLUSTER):
                apps.append((f"app{app_index:02d}", app_index))
                app_index += 1
            clusters.append((cluster, apps))
        projects.append((project, clusters))
    return projects


def app_vars(app, i):
    return {
        "ZDOPS_APP": app,
        "app_port": 8000 + i,
        "app_replicas": i % 7 + 1,
        "app_enabled": i % 3 != 0,
        "app_weight": round(0.5 + i / 8, 3),
    }


def range_vars(i):
    # Set on the range line itself, so every host of the app carries them.
    return {"ZDOPS_LOCATION": f"dc{i % 3}", "ansible_user": "deploy"}


def ini_value(v):
    if isinstance(v, bool):
        return "True" if v else "False"
    return str(v)


def yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_vars_files(base, projects):
    write(f"{base}/group_vars/all.yml",
          "ZDOPS_SYSTEM_ENV: prod\nntp_servers: [ntp1.bench.test, ntp2.bench.test]\n"
          "ansible_python_interpreter: /usr/bin/python3\nlog_level: info\n")
    for p, (project, clusters) in enumerate(projects):
        write(f"{base}/group_vars/{project}.yml",
              f"project_owner: team{p}\nproject_budget: {1000 * (p + 1)}\n"
              f"project_tags:\n  - {project}\n  - bench\nlog_level: warn\n")
        for c, (cluster, apps) in enumerate(clusters):
            if c % 2 == 0:
                # Some clusters keep their vars as a directory of files.
                write(f"{base}/group_vars/{cluster}/10-net.yml",
                      f"cluster_cidr: 10.{p}.{c}.0/24\ncluster_mtu: 1450\n")
                write(f"{base}/group_vars/{cluster}/20-limits.yaml",
                      "cluster_limits: {cpu: 64, mem: 256Gi}\n")
            for app, i in apps:
                if i % 4 == 0:
                    write(f"{base}/group_vars/{app}.yml",
                          f"app_healthcheck: /healthz\napp_port: {9000 + i}\n")
    for i in range(100):
        host = f"app{i:02d}-{i + 1:03d}"
        write(f"{base}/host_vars/{host}.yml",
              f"maintenance: true\nrack: r{i % 10}\n")


def write_ini(base, projects):
    out = ["[all:vars]", "ZDOPS_SYSTEM_ENV=test", "domain=bench.test", ""]
    for project, clusters in projects:
        for cluster, apps in clusters:
            for app, i in apps:
                inline = " ".join(f"{k}={ini_value(v)}" for k, v in range_vars(i).items())
                out.append(f"[{app}]")
                out.append(f"{app}-[001:{HOSTS_PER_APP:03d}] {inline}")
                # One host per app with its own connection settings.
                out.append(f"{app}-001 ansible_host=10.{i // 10}.{i % 10}.1 ansible_port={2200 + i}")
                out.append("")
                out.append(f"[{app}:vars]")
                out += [f"{k}={ini_value(v)}" for k, v in app_vars(app, i).items()]
                out.append("")
            out.append(f"[{cluster}:children]")
            out += [app for app, _ in apps]
            out.append("")
            out.append(f"[{cluster}:vars]")
            out.append(f"ZDOPS_CLUSTER={cluster}")
            out.append(f"cluster_size={len(apps) * HOSTS_PER_APP}")
            out.append("")
        out.append(f"[{project}:children]")
        out += [cluster for cluster, _ in clusters]
        out.append("")
        out.append(f"[{project}:vars]")
        out.append(f"ZDOPS_PROJECT={project}")
        out.append(f"ansible_ssh_common_args=\"-o 'ProxyCommand ssh -W %h:%p jump@{project}.bench.test -p 51006'\"")
        out.append("")
    write(f"{base}/hosts.ini", "\n".join(out))
    write_vars_files(base, projects)


def write_yaml(base, projects):
    out = ["all:", "  vars:", "    ZDOPS_SYSTEM_ENV: test", "    domain: bench.test", "  children:"]
    for project, clusters in projects:
        out += [f"    {project}:", "      vars:", f"        ZDOPS_PROJECT: {project}",
                f"        ansible_ssh_common_args: \"-o 'ProxyCommand ssh -W %h:%p jump@{project}.bench.test -p 51006'\"",
                "      children:"]
        for cluster, apps in clusters:
            out += [f"        {cluster}:", "          vars:", f"            ZDOPS_CLUSTER: {cluster}",
                    f"            cluster_size: {len(apps) * HOSTS_PER_APP}", "          children:"]
            for app, i in apps:
                out += [f"            {app}:", "              vars:"]
                out += [f"                {k}: {yaml_value(v)}" for k, v in app_vars(app, i).items()]
                out += ["              hosts:", f"                {app}-[001:{HOSTS_PER_APP:03d}]:"]
                out += [f"                  {k}: {yaml_value(v)}" for k, v in range_vars(i).items()]
                out += [f"                {app}-001:",
                        f"                  ansible_host: 10.{i // 10}.{i % 10}.1",
                        f"                  ansible_port: {2200 + i}"]
    write(f"{base}/hosts.yml", "\n".join(out) + "\n")
    write_vars_files(base, projects)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    projects = tree()
    write_ini(f"{out}/ini", projects)
    write_yaml(f"{out}/yaml", projects)


if __name__ == "__main__":
    main()
