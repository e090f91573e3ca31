// tests/cpp/test_cpp_user.cpp — lightc/hub.h from C++: a C++ program opens a
// hub, logs a run and checks the calls link (extern "C") and work.
#include <cstdio>
#include <cstring>
#include <string>

#include "lightc/hub.h"

int main(int argc, char **argv)
{
    std::string root = argc > 1 ? argv[1] : "cpp-user-runs";
    std::string cmd = "rm -rf '" + root + "'";
    if (std::system(cmd.c_str()) != 0)
        return 1;
    lc_hub_options opt;
    std::memset(&opt, 0, sizeof opt);
    opt.root = root.c_str();
    opt.loggers = "sqlite,csv";
    lc_hub *hub = nullptr;
    if (lc_hub_open(&hub, &opt) != LC_OK) {
        std::fprintf(stderr, "lc_hub_open: %s\n", lc_errmsg());
        return 1;
    }
    lc_run_options ro;
    std::memset(&ro, 0, sizeof ro);
    ro.experiment = "cpp";
    ro.name = "user";
    lc_run *run = nullptr;
    if (lc_run_start(hub, &ro, &run) != LC_OK) {
        std::fprintf(stderr, "lc_run_start: %s\n", lc_errmsg());
        return 1;
    }
    lc_tag loss = lc_run_tag(run, "train/loss");
    for (int i = 0; i < 10; i++)
        lc_run_log_scalar(run, loss, 1.0 / (i + 1), i);
    if (lc_run_finish(run, LC_RUN_FINISHED) != LC_OK || lc_hub_close(hub, 0) != LC_OK)
        return 1;
    std::string csv = root + "/cpp/user/metrics.csv";
    FILE *f = std::fopen(csv.c_str(), "r");
    if (!f)
        return 1;
    int lines = 0;
    for (int c; (c = std::fgetc(f)) != EOF;)
        lines += c == '\n';
    std::fclose(f);
    std::printf("C++ user: %d lines in metrics.csv\n", lines);
    return lines == 11 ? 0 : 1;
}
