using ActorLab.Model.Common;
using ActorLab.Model.Transformer;

namespace ActorLab.Model.Training;

/// <summary>
/// Checks that a checkpoint agrees with itself before anything is built from it: its manifest may be
/// self-consistent (every SHA-256 matches) and still describe another model than its weights hold, carry a
/// damaged RNG state or optimiser buffers of the wrong shape. Each of these is refused with what disagrees,
/// rather than allocating a model the weights do not fit, aborting in torch, or exporting a broken model.
/// </summary>
public static class CheckpointConsistency
{
    public static void Check(CheckpointData data, string dir)
    {
        UserInputException Bad(string what) => new($"checkpoint '{dir}' is inconsistent: {what}");
        var meta = data.Meta;
        var cfg = meta.Model ?? throw Bad("trainer.json has no model");
        if (meta.Run is null) throw Bad("trainer.json has no run");
        try { cfg.Validate(); }
        catch (ArgumentException e) { throw Bad($"trainer.json's model: {e.Message}"); }
        if (cfg.Layers > RunLimits.MaxLayers) throw Bad($"trainer.json's model has {cfg.Layers} layers (at most {RunLimits.MaxLayers})");
        if (!(double.IsFinite(cfg.WidthMult) && cfg.WidthMult > 0 && double.IsFinite(cfg.AttnMult) && double.IsFinite(cfg.RopeTheta) && cfg.RopeTheta > 0
              && double.IsFinite(cfg.NormEps) && cfg.NormEps > 0 && double.IsFinite(cfg.InitStd) && cfg.MaxSeqLen >= 1))
            throw Bad("trainer.json's model has a multiplier, norm epsilon, RoPE theta or sequence length out of range");
        if (meta.Step < 0 || meta.StreamPosition < 0) throw Bad($"step {meta.Step} / stream position {meta.StreamPosition} is negative");
        if (meta.Run.Optimizer == "schedulefree" && !RunLimits.IsBeta(meta.Run.Beta1))
            throw Bad($"schedule-free beta1 {meta.Run.Beta1} is not in (0, 1)");

        if (cfg.Width > 1 << 20 || cfg.VocabSize > 1 << 24)
            throw Bad($"trainer.json's model has width {cfg.Width} and vocab {cfg.VocabSize} (at most {1 << 20} and {1 << 24})");
        long expected = cfg.ParameterCount, held = 0; // bounded above: no overflow
        foreach (var (name, w) in data.Weights)
        {
            if (!w.is_floating_point()) throw Bad($"weight '{name}' is {w.dtype}, not floating point");
            held += w.numel();
        }
        if (held != expected)
            throw Bad($"trainer.json describes a model of {expected:N0} parameters (width {cfg.Width}, {cfg.Layers} layers, vocab {cfg.VocabSize}) but model.safetensors holds {held:N0}");

        foreach (var (name, t) in data.OptimizerTensors)
        {
            var dot = name.IndexOf('.');
            if (dot > 0 && data.Weights.TryGetValue(name[(dot + 1)..], out var w) && !t.shape.SequenceEqual(w.shape))
                throw Bad($"optimizer buffer '{name}' has shape [{string.Join(",", t.shape)}], its weight [{string.Join(",", w.shape)}]");
        }
        foreach (var (name, v) in meta.OptimizerScalars)
            if (!double.IsFinite(v)) throw Bad($"optimizer scalar '{name}' is {v}");
        if (RngState.Problem(meta.TorchRngState, out _) is { } rng) throw Bad(rng);
    }

    /// <summary>
    /// Every weight the model of <paramref name="data"/>'s config has, with its shape, and no other: the exact check
    /// for readers that use the weights without building the model (the HF export). Builds that model on the CPU,
    /// which <see cref="Check"/> has bounded to the size of the weights file.
    /// </summary>
    public static void CheckWeightShapes(CheckpointData data, string dir)
    {
        using var model = new LlamaMup(data.Meta.Model);
        var expected = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        foreach (var (name, shape) in expected)
        {
            if (!data.Weights.TryGetValue(name, out var w))
                throw new UserInputException($"checkpoint '{dir}' is inconsistent: model.safetensors lacks weight '{name}'");
            if (!w.shape.SequenceEqual(shape))
                throw new UserInputException($"checkpoint '{dir}' is inconsistent: weight '{name}' has shape [{string.Join(",", w.shape)}], the model in trainer.json needs [{string.Join(",", shape)}]");
        }
        var extra = data.Weights.Keys.FirstOrDefault(k => !expected.ContainsKey(k));
        if (extra != null) throw new UserInputException($"checkpoint '{dir}' is inconsistent: model.safetensors has weight '{extra}' the model does not");
    }
}
