//===- CompileCommands.cpp - compile, run and explain ---------------------===//
//
// Part of the ftl project.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "ftl/Codegen/FusedKernels.h"
#include "ftl/Codegen/PTX.h"
#include "ftl/Conversion/TrainPlan.h"
#include "ftl/Dialect/FTL/IR/FTLOps.h"
#include "ftl/Dialect/FTLT/IR/FTLTOps.h"
#include "ftl/Engine/Program.h"
#include "ftl/Engine/Run.h"
#include "ftl/Lang/AST.h"
#include "ftl/Lang/Diagnostic.h"
#include "ftl/Lang/Sema.h"
#include "ftl/MLIRGen/MLIRGen.h"
#include "ftl/Pipeline/Pipeline.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <map>

using namespace ftl;
using namespace ftl::driver;
using ftl::Level;
using llvm::StringRef;

std::string ftl::driver::commandLine;

/// Maps an MLIR location back into the .ftl buffer, if it points there.
static llvm::SMLoc toSMLoc(llvm::SourceMgr &sourceMgr, mlir::Location loc) {
  mlir::FileLineColLoc fileLoc;
  loc->walk([&](mlir::Location l) {
    if (auto f = llvm::dyn_cast<mlir::FileLineColLoc>(l)) {
      fileLoc = f;
      return mlir::WalkResult::interrupt();
    }
    return mlir::WalkResult::advance();
  });
  if (!fileLoc)
    return {};
  for (unsigned id = 1; id <= sourceMgr.getNumBuffers(); ++id) {
    const llvm::MemoryBuffer *buffer = sourceMgr.getMemoryBuffer(id);
    if (buffer->getBufferIdentifier() != fileLoc.getFilename().getValue())
      continue;
    return sourceMgr.FindLocForLineAndColumn(id, fileLoc.getLine(),
                                             fileLoc.getColumn());
  }
  return {};
}

/// Checks the script, generates the ftl module and hands it to `then`.
static int withModule(const Options &options, StringRef command,
                      llvm::function_ref<llvm::LogicalResult(
                          llvm::SourceMgr &, lang::DiagnosticEngine &,
                          const lang::Program &, mlir::ModuleOp)>
                          then) {
  if (options.input.empty()) {
    llvm::errs() << "ftl " << command << ": no input file\n";
    return 2;
  }
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(options.input, true);
  if (!buffer) {
    llvm::errs() << "ftl " << command << ": cannot read '" << options.input
                 << "': " << buffer.getError().message() << "\n";
    return 2;
  }
  auto result = lang::runFrontend(
      std::move(*buffer), options.frontend,
      [&](llvm::SourceMgr &sourceMgr, unsigned id,
          lang::DiagnosticEngine &diags) -> llvm::LogicalResult {
        lang::ASTContext astContext;
        lang::TypeContext types;
        lang::Program program;
        lang::SemaOptions sema;
        sema.stdlibPaths = lang::defaultStdlibPaths();
        sema.warnUnused = options.frontend.warnUnused;
        if (llvm::failed(lang::checkProgram(id, astContext, types, diags, sema,
                                            program)))
          return llvm::failure();
        mlir::DialectRegistry registry;
        registerCompilerDialects(registry);
        mlir::MLIRContext context(registry);
        // Compiler diagnostics point into the .ftl source like front-end ones.
        mlir::ScopedDiagnosticHandler handler(
            &context, [&](mlir::Diagnostic &d) {
              llvm::SMLoc smloc = toSMLoc(sourceMgr, d.getLocation());
              std::string message = d.str();
              llvm::StringRef rest(message);
              // Constructs the compiler cannot lower yet share the front
              // end's kind, so scripts and tools can tell them apart.
              lang::InFlightDiagnostic reported =
                  rest.consume_front("not implemented yet: ")
                      ? diags.report(smloc, lang::diag::NotImplementedYet,
                                     {rest.str()})
                      : diags.report(smloc, lang::diag::CompilerError,
                                     {message});
              for (mlir::Diagnostic &note : d.getNotes()) {
                // MLIR's dump of the op is for compiler developers.
                if (llvm::StringRef(note.str())
                        .starts_with("see current operation"))
                  continue;
                llvm::SMLoc at = toSMLoc(sourceMgr, note.getLocation());
                reported.attachNote(llvm::SMRange(at, at),
                                    lang::diag::NoteDeclaredHere, {note.str()});
              }
              return mlir::success();
            });
        auto module = mlirGen(context, sourceMgr, program);
        if (!module)
          return llvm::failure();
        return then(sourceMgr, diags, program, *module);
      },
      llvm::errs());
  return llvm::failed(result) ? 1 : 0;
}

int ftl::driver::runCompile(const Options &options) {
  if (options.emit == "tokens" || options.emit == "ast")
    return runFrontendEmit(options);
  if (options.emit.empty()) {
    llvm::errs() << "ftl compile: --emit=<level> is required (tokens, ast, "
                    "ftl, step, grad, fused, llvm, ptx)\n";
    return 2;
  }
  std::optional<Level> level =
      llvm::StringSwitch<std::optional<Level>>(options.emit)
          .Case("ftl", Level::FTL)
          .Case("step", Level::Step)
          .Case("grad", Level::Grad)
          .Case("fused", Level::Fused)
          .Cases("llvm", "ptx", Level::Fused)
          .Default(std::nullopt);
  if (!level) {
    llvm::errs() << "ftl compile: unknown level '" << options.emit
                 << "'; expected tokens, ast, ftl, step, grad, fused, llvm "
                    "or ptx\n";
    return 2;
  }
  bool locations = llvm::is_contained(options.extra, "--locations");
  return withModule(
      options, "compile",
      [&](llvm::SourceMgr &, lang::DiagnosticEngine &, const lang::Program &,
          mlir::ModuleOp module) {
        if (*level != Level::FTL) {
          llvm::StringRef dir = llvm::sys::path::parent_path(options.input);
          if (llvm::Error e =
                  rt::resolveModelConfigs(module, dir.empty() ? "." : dir)) {
            llvm::errs() << "ftl compile: " << llvm::toString(std::move(e))
                         << "\n";
            return llvm::failure();
          }
        }
        if (llvm::failed(lowerTo(module, *level)))
          return llvm::failure();
        // Generated code for the fused groups.
        if (options.emit == "llvm" || options.emit == "ptx") {
          llvm::Expected<std::string> text = [&] {
            if (options.emit == "ptx")
              return codegen::generatePTX(module);
            codegen::CodegenOptions cg;
            cg.keepLLVMIR = true;
            auto kernels = codegen::compileFusedKernels(module, cg);
            if (!kernels)
              return llvm::Expected<std::string>(kernels.takeError());
            return llvm::Expected<std::string>((*kernels)->llvmIR());
          }();
          if (!text) {
            llvm::errs() << "ftl compile: " << llvm::toString(text.takeError())
                         << "\n";
            return llvm::failure();
          }
          llvm::outs() << *text;
          return llvm::success();
        }
        mlir::OpPrintingFlags flags;
        if (locations)
          flags.enableDebugInfo(true, /*prettyForm=*/false).useLocalScope();
        if (*level == Level::FTL) {
          module->print(llvm::outs(), flags);
          llvm::outs() << "\n";
          return llvm::success();
        }
        // The step levels print the step functions only.
        for (auto fn : module.getOps<mlir::func::FuncOp>()) {
          fn->print(llvm::outs(), flags);
          llvm::outs() << "\n";
        }
        return llvm::success();
      });
}

int ftl::driver::runRun(const Options &options) {
  return withModule(
      options, "run",
      [&](llvm::SourceMgr &sourceMgr, lang::DiagnosticEngine &diags,
          const lang::Program &, mlir::ModuleOp module) {
        // Nothing is executed until every construct is supported: report
        // each unsupported one at its source location before any work.
        bool missing = false;
        if (options.device == "cuda") {
          diags.report(llvm::SMLoc(), lang::diag::NotImplementedYet,
                       {"training on CUDA (--device cuda); the fused groups "
                        "compile to PTX with `ftl compile --emit=ptx`"});
          missing = true;
        }

        module.walk([&](mlir::Operation *op) {
          if (llvm::isa<mlir::ModuleOp>(op))
            return;
          std::string construct = mlir::ftl::describeConstruct(op);
          if (construct.empty() || mlir::ftl::isConstructImplemented(op))
            return;
          diags.report(toSMLoc(sourceMgr, op->getLoc()),
                       lang::diag::NotImplementedYet, {construct});
          missing = true;
        });
        if (missing || options.frontend.verifyDiagnostics)
          return llvm::failure(missing);
        rt::RunOptions run;
        run.threads = options.threads;
        run.runsRoot = options.runDir;
        run.scriptPath = options.input;
        llvm::StringRef dir = llvm::sys::path::parent_path(options.input);
        run.sourceDir = dir.empty() ? "." : dir.str();
        llvm::raw_string_ostream ir(run.irText);
        module->print(ir);
        run.commandLine = commandLine;
        for (const std::string &extra : options.extra) {
          llvm::StringRef flag = extra;
          if (flag.consume_front("--max-steps=")) {
            if (flag.getAsInteger(10, run.maxSteps) || run.maxSteps < 0) {
              llvm::errs() << "ftl run: --max-steps expects a number >= 0, "
                              "found '"
                           << flag << "'\n";
              return llvm::failure();
            }
          } else if (flag == "--quiet") {
            run.quiet = true;
          } else if (flag == "--resume") {
            run.resume = true;
          } else {
            llvm::errs() << "ftl run: unknown option '" << flag
                         << "' (see ftl --help)\n";
            return llvm::failure();
          }
        }
        std::string folder;
        run.runFolderOut = &folder;
        if (llvm::Error e = rt::runModule(module, run)) {
          llvm::errs() << "ftl run: " << llvm::toString(std::move(e)) << "\n";
          if (!folder.empty())
            llvm::errs() << "run folder: " << folder << "\n";
          return llvm::failure();
        }
        llvm::errs() << "run folder: " << folder << "\n";
        return llvm::success();
      });
}

namespace {
/// Plans programs without compiling code: enough to size the arena.
class PlanningKernels : public rt::FusedKernelProvider {
public:
  rt::FusedKernel lookup(mlir::ftlt::FusedOp) const override {
    return {reinterpret_cast<rt::FusedRowFn>(&noop), nullptr};
  }
  static void noop(void **, int64_t, int64_t) {}
};

std::string humanBytes(double bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return llvm::formatv("{0:f1} {1}", bytes, units[u]).str();
}

std::string humanCount(int64_t n) {
  if (n >= 1000000)
    return llvm::formatv("{0:f2}M", n / 1e6).str();
  if (n >= 1000)
    return llvm::formatv("{0:f1}K", n / 1e3).str();
  return std::to_string(n);
}
} // namespace

/// The placement report of half and sparse fine-tuning and the factors of
/// layer-wise LR decay.
static void explainEntryAdapters(llvm::raw_ostream &os,
                                 const ftl::TrainPlan &plan) {
  if (!plan.sparse.empty() || !plan.halves.empty())
    os << "  placement (base entries):\n";
  for (const ftl::SparsePlacement &sp : plan.sparse) {
    std::string pick = sp.pick == "principal"
                           ? "principal rank " + std::to_string(sp.rank)
                           : sp.pick;
    os << "    " << sp.adapter << ": sparse "
       << llvm::format("%g", 100 * sp.density) << "% (" << pick;
    if (sp.refresh > 0)
      os << ", refresh every " << sp.refresh << " steps";
    os << ") on " << sp.weight << " [" << sp.rows << "x" << sp.cols
       << "]: " << humanCount(sp.k) << " of " << humanCount(sp.numel)
       << " trainable, optimizer state " << humanBytes(8.0 * sp.k);
    if (sp.k < sp.numel)
      os << " gathered (dense: " << humanBytes(8.0 * sp.numel) << ")\n";
    else
      os << " (every entry trains: the tensor steps dense)\n";
  }
  for (const ftl::HalfPlacement &h : plan.halves) {
    // Per layer and category: how many groups train per round.
    std::map<std::pair<int64_t, std::string>, int64_t> groups;
    std::map<std::pair<int64_t, std::string>, int64_t> entries;
    for (const auto &m : h.modules) {
      ++groups[{m.layer, m.category}];
      for (const std::string &t : m.tensors)
        for (const ftl::PlannedTensor &p : plan.tensors)
          if (p.name == t)
            entries[{m.layer, m.category}] += p.numel();
    }
    std::map<std::string, int64_t> oddLayers;
    for (auto &[key, n] : groups)
      oddLayers[key.second] += n % 2;
    int64_t all = 0;
    for (auto &[key, n] : entries)
      all += n;
    os << "    " << h.adapter << ": half ("
       << (h.regroupEvery > 0
               ? "regroup every " + std::to_string(h.regroupEvery) + " steps"
               : std::string("one group per train"))
       << ") on " << h.modules.size() << " groups in ";
    std::vector<int64_t> layers;
    for (auto &[key, n] : groups)
      if (!llvm::is_contained(layers, key.first))
        layers.push_back(key.first);
    os << layers.size() << (layers.size() == 1 ? " layer" : " layers") << " ("
       << humanCount(all) << " entries); per layer and round:";
    const char *order[] = {"attn", "mlp", "norm"};
    const char *sep = " ";
    for (const char *category : order) {
      std::vector<int64_t> counts;
      for (auto &[key, n] : groups)
        if (key.second == category && !llvm::is_contained(counts, n))
          counts.push_back(n);
      for (int64_t n : counts) {
        os << sep << category << " "
           << (n % 2 ? std::to_string(n / 2) + "-" + std::to_string(n / 2 + 1)
                     : std::to_string(n / 2))
           << " of " << n;
        sep = ", ";
      }
    }
    os << "; optimizer state " << humanBytes(8.0 * all)
       << " (every group keeps its moments; frozen ones stay as they are)\n";
  }
  if (plan.layerDecay != 1) {
    int64_t layers = plan.model.info.layers;
    os << "  layer-wise LR decay " << llvm::format("%g", plan.layerDecay)
       << ": embeddings x"
       << llvm::format("%g", std::pow(plan.layerDecay, double(layers)))
       << ", layers.0 x"
       << llvm::format("%g", std::pow(plan.layerDecay, double(layers - 1)))
       << " ... layers." << layers - 1 << " x1, final norm and head x1\n";
  }
}

int ftl::driver::runExplain(const Options &options) {
  return withModule(
      options, "explain",
      [&](llvm::SourceMgr &, lang::DiagnosticEngine &, const lang::Program &,
          mlir::ModuleOp module) {
        llvm::StringRef dir = llvm::sys::path::parent_path(options.input);
        if (llvm::Error e =
                rt::resolveModelConfigs(module, dir.empty() ? "." : dir)) {
          llvm::errs() << "ftl explain: " << llvm::toString(std::move(e))
                       << "\n";
          return llvm::failure();
        }
        if (llvm::failed(lowerTo(module, Level::Fused)))
          return llvm::failure();
        llvm::raw_ostream &os = llvm::outs();
        PlanningKernels planning;
        unsigned index = 0;
        module.walk([&](mlir::ftl::TrainOp train) {
          auto plan = ftl::planTrain(train);
          if (mlir::failed(plan))
            return;
          // Trainable: entries the optimizer steps (k of a sparse tensor);
          // gradients are accumulated dense for every trainable tensor.
          int64_t total = 0, trainable = 0, adapterParams = 0, dense = 0,
                  gathered = 0;
          for (const ftl::PlannedTensor &t : plan->tensors) {
            int64_t n = t.numel();
            if (!t.isAdapter)
              total += n;
            else
              adapterParams += n;
            if (t.trainable) {
              trainable += t.numTrainable();
              dense += n;
              gathered += t.sparseK;
            }
          }
          os << "train " << index++ << " (model '" << plan->model.name
             << "', batch " << plan->batch << " x seq " << plan->seq
             << ", accumulate " << plan->accumulate << ")\n";
          os << "  parameters: " << humanCount(total) << " base";
          if (adapterParams)
            os << " + " << humanCount(adapterParams) << " adapter";
          os << "; trainable " << humanCount(trainable) << " ("
             << llvm::formatv("{0:f2}",
                              100.0 * trainable / double(total + adapterParams))
             << "%)\n";
          // Placement report: every adapter tensor and what it trains.
          if (!plan->loras.empty() || !plan->blockAdapters.empty() ||
              plan->virtualTokens)
            os << "  placement:\n";
          for (const ftl::LoraPlacement &lora : plan->loras) {
            int64_t n =
                lora.rank * (lora.in + lora.out) + (lora.dora ? lora.out : 0);
            os << "    " << lora.adapter << ": "
               << (lora.dora ? "dora" : "lora") << " r=" << lora.rank
               << " scale=" << llvm::formatv("{0:g}", lora.scale);
            if (lora.dropout > 0)
              os << " dropout=" << llvm::format("%g", lora.dropout);
            os << " on " << lora.weight << " [" << lora.out << "x" << lora.in
               << "]: " << humanCount(n) << " trainable, optimizer state "
               << humanBytes(2.0 * 4 * n) << "\n";
          }
          for (const ftl::BlockAdapterPlacement &b : plan->blockAdapters) {
            int64_t n = 2 * b.hidden * b.dim + b.hidden + b.dim;
            os << "    " << b.adapter << ": " << b.kind << " ("
               << (b.serial ? "serial" : "parallel") << ", " << b.act
               << ", hidden " << b.hidden << ") on layers." << b.layer << "."
               << b.block << ": " << humanCount(n)
               << " trainable, optimizer state " << humanBytes(8.0 * n) << "\n";
          }
          if (const auto &v = plan->virtualTokens) {
            const auto &m = plan->model.info;
            int64_t width =
                v->kind == "prompt" ? m.dim : 2 * m.kvHeads * m.headDim();
            int64_t n =
                v->tokens * width * (v->kind == "prompt" ? 1 : m.layers);
            os << "    " << v->adapter << ": " << v->kind << " of " << v->tokens
               << " virtual tokens before every document piece ("
               << (v->kind == "prompt" ? "input embeddings"
                                       : "keys and values in every layer")
               << "): " << humanCount(n) << " trainable, optimizer state "
               << humanBytes(8.0 * n) << "\n";
          }
          explainEntryAdapters(os, *plan);
          // Memory of one step: weights, gradients (dense accumulators, and
          // the gathered values, gradients and indices of sparse tensors),
          // AdamW states, batches and the planned activation arena of the
          // gradient function.
          double weights = 4.0 * (total + adapterParams);
          double grads = 4.0 * dense + 12.0 * gathered,
                 states = 8.0 * trainable;
          double arena = 0, unplanned = 0;
          if (auto ref = train->getAttrOfType<mlir::SymbolRefAttr>("step"))
            if (auto fn = mlir::SymbolTable::lookupNearestSymbolFrom<
                    mlir::func::FuncOp>(train, ref)) {
              auto program = rt::Program::build(fn, planning, nullptr);
              if (program) {
                arena = double((*program)->arenaBytes());
                unplanned = double((*program)->unplannedBytes());
              } else {
                llvm::consumeError(program.takeError());
              }
            }
          double batches = double(plan->terms.size()) * plan->tokens() * 20;
          os << "  memory: weights " << humanBytes(weights) << ", gradients "
             << humanBytes(grads) << ", optimizer " << humanBytes(states)
             << ", activations " << humanBytes(arena) << " (planned; "
             << humanBytes(unplanned) << " without reuse)\n";
          os << "  estimated peak: "
             << humanBytes(weights + grads + states + arena + batches) << "\n";
        });
        if (index == 0)
          os << "no train statements\n";
        return llvm::success();
      });
}
