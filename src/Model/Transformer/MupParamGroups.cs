using TorchSharp.Modules;

namespace ActorLab.Model.Transformer;

/// <summary>A set of parameters sharing learning-rate and weight-decay multipliers.</summary>
public sealed record MupGroup(string Name, IReadOnlyList<(string Name, Parameter Param)> Params, double LrScale, double WdScale);

/// <summary>
/// muP optimiser groups (SPEC 3): matrices whose both dims scale with width (q/k/v/o, gate/up/down) train with
/// lr / m and weight decay wd * m; vectors, norms, embeddings and lm_head keep lr and wd.
/// </summary>
public static class MupParamGroups
{
    static readonly string[] HiddenSuffixes =
    [
        "q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight",
        "gate_proj.weight", "up_proj.weight", "down_proj.weight",
    ];

    public static bool IsHiddenMatrix(string name) => HiddenSuffixes.Any(name.EndsWith);

    public static IReadOnlyList<MupGroup> Build(LlamaMup model)
    {
        var m = model.Config.WidthMult;
        var all = model.named_parameters().ToList();
        return
        [
            new MupGroup("hidden", all.Where(p => IsHiddenMatrix(p.name)).ToArray(), 1.0 / m, m),
            new MupGroup("other", all.Where(p => !IsHiddenMatrix(p.name)).ToArray(), 1.0, 1.0),
        ];
    }
}
