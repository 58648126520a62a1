namespace ActorLab.Model.Qa;

/// <summary>Where a question comes from: the training stream or one of the held-out eval sets (SPEC 2.3).</summary>
public enum EvalMode : byte
{
    TrainOnehop,
    TrainTwohop,
    EvalFirstPeople,
    EvalRelations,
    EvalPersonRelationPairs,
    EvalSecondPeople,
    EvalSecondAttributes,
    EvalSecondPersonAttributePairs,
    EvalCompleteTwoHopQuestions,
}

public static class EvalModes
{
    public static readonly IReadOnlyList<EvalMode> All = Enum.GetValues<EvalMode>();

    /// <summary>The reference names, as written in eval_results.csv's `mode` column.</summary>
    public static string Name(this EvalMode mode) => mode switch
    {
        EvalMode.TrainOnehop => "train_onehop",
        EvalMode.TrainTwohop => "train_twohop",
        EvalMode.EvalFirstPeople => "eval_first_people",
        EvalMode.EvalRelations => "eval_relations",
        EvalMode.EvalPersonRelationPairs => "eval_person_relation_pairs",
        EvalMode.EvalSecondPeople => "eval_second_people",
        EvalMode.EvalSecondAttributes => "eval_second_attributes",
        EvalMode.EvalSecondPersonAttributePairs => "eval_second_person_attribute_pairs",
        EvalMode.EvalCompleteTwoHopQuestions => "eval_complete_two_hop_questions",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static EvalMode? TryParse(string name) =>
        All.Select(m => (EvalMode?)m).FirstOrDefault(m => m!.Value.Name() == name);

    public static bool IsTwoHop(this EvalMode mode) => mode != EvalMode.TrainOnehop;
}
