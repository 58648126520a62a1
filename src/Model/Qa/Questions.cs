using ActorLab.Model.Profiles;

namespace ActorLab.Model.Qa;

/// <summary>
/// One question: 1-hop (<see cref="Relation"/> = -1) asks <see cref="Subject"/> of <see cref="Profile"/>;
/// 2-hop asks <see cref="Subject"/> of the profile that <see cref="Profile"/>'s <see cref="Relation"/> points to.
/// </summary>
public readonly record struct Question(int Profile, int Relation, int Subject, EvalMode Mode)
{
    public int Order => Relation < 0 ? 1 : 2;

    public static Question OneHop(int profile, int subject) => new(profile, -1, subject, EvalMode.TrainOnehop);
}

/// <summary>
/// Question and answer text, exactly SPEC 2. Underscores in relation and subject names become spaces.
/// The chain-of-thought answer of a 2-hop question spells out the first hop:
/// "{name}'s {relation} is {middle name}, their {subject} is {final answer}", where "middle name" is the full
/// name of the middle person (the first hop's answer, profile p.r), not a profile's middle-name field.
/// </summary>
public static class Questions
{
    public static string SubjectText(int subject) => Subjects.Name(subject).Replace('_', ' ');
    public static string RelationText(int relation) => RelationNames.All[relation].Replace('_', ' ');

    public static string OneHopText(string name, int subject) => $"What was {name}'s {SubjectText(subject)}?";

    public static string TwoHopText(string name, int relation, int subject) =>
        $"What was {name}'s {RelationText(relation)}'s {SubjectText(subject)}?";

    public static string CotAnswerText(string name, int relation, string middleName, int subject, string answer) =>
        $"{name}'s {RelationText(relation)} is {middleName}, their {SubjectText(subject)} is {answer}";

    /// <summary>One training example: "Question: {q} Answer: {a}".</summary>
    public static string ExampleText(string question, string answer) => $"Question: {question} Answer: {answer}";

    public static string QuestionText(ProfileDatabase db, Question q) => q.Order == 1
        ? OneHopText(db.Names[q.Profile], q.Subject)
        : TwoHopText(db.Names[q.Profile], q.Relation, q.Subject);

    /// <summary>The profile the question is finally about (p for 1-hop, p.r for 2-hop).</summary>
    public static int AnswerProfile(ProfileDatabase db, Question q) =>
        q.Order == 1 ? q.Profile : db.Related(q.Relation, q.Profile);

    /// <summary>
    /// Whether the answer spells out the first hop: 2-hop questions of a chain-of-thought run, except
    /// eval_first_people, which the reference asks without a relation of its own and answers plainly.
    /// </summary>
    public static bool HasCotAnswer(Question q, bool cot) => cot && q.Order == 2 && q.Mode != EvalMode.EvalFirstPeople;

    public static string AnswerText(ProfileDatabase db, Question q, bool cot)
    {
        var final = db.AnswerText(AnswerProfile(db, q), q.Subject);
        if (!HasCotAnswer(q, cot)) return final;
        var middle = db.Names[db.Related(q.Relation, q.Profile)];
        return CotAnswerText(db.Names[q.Profile], q.Relation, middle, q.Subject, final);
    }

    public static string ExampleText(ProfileDatabase db, Question q, bool cot) =>
        ExampleText(QuestionText(db, q), AnswerText(db, q, cot));
}
