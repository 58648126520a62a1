using System.CommandLine;
using ActorLab.Model.Common;
using ActorLab.Model.Qa;
using ActorLab.Model.Training;

namespace ActorLab.Host.Cli;

/// <summary>
/// `actorlab logits`: a checkpoint's next-token logits on given prompts, as safetensors, to check other frameworks
/// against (bench/gpu compares them with Hugging Face transformers on the `actorlab export` of the same checkpoint).
/// </summary>
public static class LogitsCommands
{
    public static Command Build()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder (RUN/checkpoints/step_N).", Required = true };
        var prompts = new Option<string>("--prompts") { Description = "Text file, one prompt a line (empty lines skipped), tokenized without special tokens.", Required = true };
        var output = new Option<string>("--out") { Description = "Output .safetensors: input_ids.{i} and logits.{i} [T, vocab] per prompt, prompt texts in the metadata.", Required = true };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "Tokenizer folder (default: the run's)." };
        var device = new Option<string>("--device") { Description = "torch device: cpu or cuda:N.", DefaultValueFactory = _ => "cpu" };
        var amp = new Option<string>("--amp") { Description = "Mixed precision on CUDA: none | bf16.", DefaultValueFactory = _ => "none" };
        var cmd = new Command("logits", "Write a checkpoint's logits on prompts (at the eval point) for cross-checking exports in other frameworks.")
        {
            checkpoint, prompts, output, tokenizer, device, amp,
        };
        cmd.SetAction(pr =>
        {
            var promptsPath = pr.GetValue(prompts)!;
            if (!File.Exists(promptsPath)) throw new UserInputException($"--prompts '{promptsPath}' does not exist");
            var outPath = pr.GetValue(output)!;
            if (Directory.Exists(outPath)) throw new UserInputException($"--out '{outPath}' is a folder; give a file name");
            var dir = pr.GetValue(checkpoint)!;
            string tokDir;
            using (var meta = Checkpoints.Read(dir)) tokDir = pr.GetValue(tokenizer) ?? meta.Meta.Run.Tokenizer;
            var tok = QaTokenizer.Load(tokDir);
            var options = new TrainerOptions { VocabSize = tok.VocabSize, Device = pr.GetValue(device)!, Amp = pr.GetValue(amp)!, Warn = Console.Error.WriteLine };
            if (options.Amp is not ("none" or "bf16")) throw new UserInputException($"--amp must be none or bf16, got '{options.Amp}'");
            if (options.Amp != "none" && !options.Device.StartsWith("cuda"))
                throw new UserInputException("--amp needs a CUDA device (--device cuda:N)");
            using var core = TrainerCore.Open(dir, options);
            if (core.Model.Config.VocabSize != tok.VocabSize)
                throw new UserInputException($"checkpoint '{dir}' has vocab {core.Model.Config.VocabSize} but tokenizer '{tokDir}' has {tok.VocabSize}");
            var list = PromptLogits.Tokenize(File.ReadAllLines(promptsPath), tok);
            var logits = PromptLogits.Compute(core, list);
            try
            {
                var parent = Path.GetDirectoryName(Path.GetFullPath(outPath));
                if (parent != null) Directory.CreateDirectory(parent);
                PromptLogits.Save(outPath, list, logits, core.Step, tok.VocabSize);
            }
            finally
            {
                foreach (var t in logits) t.Dispose();
            }
            Console.WriteLine($"wrote {outPath}: {list.Count} prompts, {list.Sum(p => p.InputIds.Length)} tokens, vocab {tok.VocabSize}, step {core.Step}, device {options.Device}");
            return 0;
        });
        return cmd;
    }
}
