// The `diffuse` subcommands. Each takes argv with argv[0] = "diffuse <name>", returns an exit
// code, and throws InputError (exit 2) or RuntimeFailure (exit 1); main() maps errors to codes.
#pragma once

namespace diffuse::cli {

int run_sample(int argc, char** argv);
int run_eval(int argc, char** argv);
int run_train(int argc, char** argv);
int run_distill(int argc, char** argv);
int run_finetune(int argc, char** argv);
int run_train_classifier(int argc, char** argv);
int run_data(int argc, char** argv);
int run_bench(int argc, char** argv);
int run_export(int argc, char** argv);
int run_schedule(int argc, char** argv);

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);  // nullptr: not yet available (exit 2)
};

}  // namespace diffuse::cli
