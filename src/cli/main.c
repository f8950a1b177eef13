/* lens: command dispatch. Each command lives in its own file (cmd_*.c) and
 * is listed once in the table below; `lens --help` is generated from it. */
#include <string.h>

#include "cli/cli.h"
#include "cli/vision_cli.h"

static const cli_command *const COMMANDS[] = {
    &cli_cmd_run,      &cli_cmd_info,   &cli_cmd_bench,   &cli_cmd_classify,
    &cli_cmd_detect,   &cli_cmd_segment, &cli_cmd_verify,
};

static void print_usage(FILE *f) {
    fputs("Usage: lens COMMAND [OPTIONS] ...\n"
          "       lens COMMAND --help\n"
          "       lens --version\n"
          "\n"
          "Run PyTorch-exported ONNX models on the CPU.\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-10s %s\n", COMMANDS[i]->name, COMMANDS[i]->summary);
    fputs("\n"
          "Safety limits (any command; sizes take a K, M or G suffix; defaults in brackets):\n"
          "  --max-file-bytes N       model file size [4G]\n"
          "  --max-tensor-elements N  elements of any one tensor [2G]\n"
          "  --max-tensor-bytes N     bytes of any one tensor or temporary [4G]\n"
          "  --max-plan-bytes N       memory of a run's intermediate values, and of folded\n"
          "                           constants [16G]\n"
          "  --max-nodes N            nodes of a graph [1000000]\n"
          "  --max-graph-depth N      nesting of subgraphs (If, Loop, Scan) [16]\n"
          "A model over a limit does not open (exit status 2); a run over one fails (1).\n"
          "\n"
          "Exit status: 0 success, 1 some inputs failed, 2 usage or setup error.\n",
          f);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("lens: missing command\n", stderr);
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_extract_limits(&argc, argv) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
    if (argc < 2) {
        fputs("lens: missing command\n", stderr);
        print_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (cli_is_help(name) || !strcmp(name, "help")) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
                if (!strcmp(argv[2], COMMANDS[i]->name)) {
                    fputs(COMMANDS[i]->usage, stdout);
                    return CLI_EXIT_OK;
                }
            fprintf(stderr, "lens: unknown command '%s'\n", argv[2]);
            print_usage(stderr);
            return CLI_EXIT_USAGE;
        }
        print_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        printf("lens %s\n", lens_version());
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(name, COMMANDS[i]->name)) return COMMANDS[i]->run(argc - 1, argv + 1);
    if (name[0] == '-')
        fprintf(stderr, "lens: unknown option '%s'\n", name);
    else
        fprintf(stderr, "lens: unknown command '%s'\n", name);
    print_usage(stderr);
    return CLI_EXIT_USAGE;
}
