using System.Text.Json;
using System.Text.Json.Nodes;
using ActorLab.Model.Common;
using ActorLab.Model.Qa;
using ActorLab.Model.Transformer;
using static TorchSharp.torch;

namespace ActorLab.Model.Training;

/// <summary>
/// Exports a checkpoint as a Hugging Face `LlamaForCausalLM` folder: model.safetensors (HF tensor names, float32)
/// and config.json, plus the tokenizer files when the run's tokenizer folder is reachable. Two muP details are
/// folded into the weights so stock `transformers` computes the same logits:
/// - readout: our logits are lm_head(h / m); the export stores lm_head.weight / m;
/// - attention scale: we use attn_mult / head_dim, HF uses 1 / sqrt(head_dim); the export multiplies q_proj.weight by
///   attn_mult / sqrt(head_dim) (RoPE is linear in q, so scaling q before or after it is the same).
/// Schedule-free runs export the averaged point x = lerp(y, z, 1 - 1/beta1), the one evaluation uses.
/// </summary>
public static class HfExport
{
    public static string Export(string checkpointDir, string outDir)
    {
        using var data = Checkpoints.Read(checkpointDir);
        // the exported files carry no trainer.json to cross-check later: every weight must be the config's
        CheckpointConsistency.CheckWeightShapes(data, checkpointDir);
        var cfg = data.Meta.Model;
        var run = data.Meta.Run;
        Directory.CreateDirectory(outDir);
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            using (no_grad())
            {
                foreach (var (name, w) in data.Weights)
                {
                    var t = w.to_type(ScalarType.Float32).clone();
                    if (run.Optimizer == "schedulefree" && data.OptimizerTensors.TryGetValue($"z.{name}", out var z))
                    {
                        using var weight = tensor(1 - 1 / run.Beta1, dtype: ScalarType.Float32);
                        t.lerp_(z.to_type(ScalarType.Float32), weight);
                    }
                    if (name == "lm_head.weight") t.div_(cfg.WidthMult);
                    if (name.EndsWith("self_attn.q_proj.weight")) t.mul_(cfg.AttnMult / Math.Sqrt(cfg.HeadDim));
                    tensors[name == "lm_head.weight" ? name : "model." + name] = t;
                }
            }
            Safetensors.Save(Path.Combine(outDir, "model.safetensors"), tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal),
                new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }

        int? eos = null;
        if (Directory.Exists(run.Tokenizer))
        {
            try
            {
                eos = QaTokenizer.Load(run.Tokenizer).EosId;
                foreach (var f in Directory.GetFiles(run.Tokenizer))
                    AtomicFile.WriteAllBytes(Path.Combine(outDir, Path.GetFileName(f)), File.ReadAllBytes(f));
            }
            catch (UserInputException) { /* tokenizer moved or damaged: export the model alone */ }
        }
        AtomicFile.WriteAllText(Path.Combine(outDir, "config.json"), Config(cfg, eos).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        AtomicFile.WriteAllText(Path.Combine(outDir, "actorlab_export.json"), new JsonObject
        {
            ["checkpoint"] = Path.GetFullPath(checkpointDir),
            ["step"] = data.Meta.Step,
            ["run_name"] = run.RunName,
            ["width_mult"] = cfg.WidthMult,
            ["folded"] = "lm_head.weight /= width_mult; q_proj.weight *= attn_mult / sqrt(head_dim)",
            ["point"] = run.Optimizer == "schedulefree" ? "schedule-free average x" : "weights",
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return outDir;
    }

    public static JsonObject Config(LlamaMupConfig cfg, int? eosId) => new()
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["model_type"] = "llama",
        ["vocab_size"] = cfg.VocabSize,
        ["hidden_size"] = cfg.Width,
        ["intermediate_size"] = cfg.Hidden,
        ["num_hidden_layers"] = cfg.Layers,
        ["num_attention_heads"] = cfg.Heads,
        ["num_key_value_heads"] = cfg.Heads,
        ["head_dim"] = cfg.HeadDim,
        ["hidden_act"] = "silu",
        ["max_position_embeddings"] = cfg.MaxSeqLen,
        ["rms_norm_eps"] = cfg.NormEps,
        ["rope_theta"] = cfg.RopeTheta,
        ["rope_scaling"] = null,
        ["attention_bias"] = false,
        ["attention_dropout"] = 0.0,
        ["mlp_bias"] = false,
        ["tie_word_embeddings"] = false,
        ["initializer_range"] = cfg.InitStd,
        ["pretraining_tp"] = 1,
        ["use_cache"] = true,
        ["bos_token_id"] = eosId,
        ["eos_token_id"] = eosId,
        ["torch_dtype"] = "float32",
    };
}
