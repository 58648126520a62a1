using ActorLab.Model.Common;
using ActorLab.Model.Qa;
using static TorchSharp.torch;

namespace ActorLab.Model.Training;

/// <summary>
/// Next-token logits of a trained model on a few prompts, written so another framework can check that it computes
/// the same function: e.g. Hugging Face `transformers` on an `actorlab export` of the same checkpoint (bench/gpu).
/// The logits come from the eval point (schedule-free: x = lerp(y, z, 1 - 1/beta1)), the point evaluation and the
/// export use; the trainer's own parameters are left as they were.
/// File: safetensors with `input_ids.{i}` (int64 [T]) and `logits.{i}` (float32 [T, vocab]) per prompt i, and
/// metadata `prompts` (JSON array of the prompt texts), `step`, `vocab_size`.
/// </summary>
public static class PromptLogits
{
    /// <summary>Refuse outputs above this many logits (4 bytes each): 64 Mi floats = 256 MiB.</summary>
    public const long MaxLogits = 64L << 20;

    public sealed record Prompt(string Text, long[] InputIds);

    /// <summary>Tokenizes each non-empty line with the run's tokenizer (no special tokens added).</summary>
    public static IReadOnlyList<Prompt> Tokenize(IEnumerable<string> lines, QaTokenizer tok)
    {
        var prompts = lines.Where(l => l.Length > 0).Select(l => new Prompt(l, tok.Encode(l).Select(x => (long)x).ToArray())).ToList();
        if (prompts.Count == 0) throw new UserInputException("no prompts: give at least one non-empty line");
        return prompts;
    }

    /// <summary>Logits [T, vocab] (float32, on the CPU) per prompt at the eval point of <paramref name="core"/>.</summary>
    public static Tensor[] Compute(TrainerCore core, IReadOnlyList<Prompt> prompts)
    {
        long total = prompts.Sum(p => (long)p.InputIds.Length) * core.Model.Config.VocabSize;
        if (total > MaxLogits)
            throw new UserInputException($"{prompts.Count} prompts of {prompts.Sum(p => p.InputIds.Length)} tokens would give {total:N0} logits (limit {MaxLogits:N0}); give fewer or shorter prompts");
        var result = new Tensor[prompts.Count];
        core.Optimizer.Eval();
        core.Model.eval();
        try
        {
            using var _ = no_grad();
            for (int i = 0; i < prompts.Count; i++)
            {
                using var scope = NewDisposeScope();
                var ids = tensor(prompts[i].InputIds, [1, prompts[i].InputIds.Length]).to(core.Device);
                var logits = core.Model.forward(ids)[0];                        // [T, vocab]
                result[i] = logits.to_type(ScalarType.Float32).cpu().contiguous().MoveToOuterDisposeScope();
            }
        }
        finally
        {
            core.Optimizer.Train();
        }
        return result;
    }

    public static void Save(string path, IReadOnlyList<Prompt> prompts, Tensor[] logits, long step, int vocabSize)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        try
        {
            for (int i = 0; i < prompts.Count; i++)
            {
                tensors.Add(new($"input_ids.{i}", tensor(prompts[i].InputIds)));
                tensors.Add(new($"logits.{i}", logits[i]));
            }
            Safetensors.Save(path, tensors, new Dictionary<string, string>
            {
                ["prompts"] = System.Text.Json.JsonSerializer.Serialize(prompts.Select(p => p.Text)),
                ["step"] = step.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["vocab_size"] = vocabSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        }
        finally
        {
            foreach (var (name, t) in tensors) if (name.StartsWith("input_ids.")) t.Dispose();
        }
    }
}
