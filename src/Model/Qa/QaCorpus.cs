using ActorLab.Model.Profiles;

namespace ActorLab.Model.Qa;

/// <summary>
/// The text a tokenizer is trained on ("trained on generated QA text", SPEC 2): every 1-hop example of every
/// profile and subject (so every name and value is seen), plus <paramref name="twoHopPerProfile"/> random 2-hop
/// examples per profile, half of them with chain-of-thought answers. Deterministic for a seed.
/// </summary>
public static class QaCorpus
{
    public static IEnumerable<string> Texts(ProfileDatabase db, int seed, int twoHopPerProfile = 2)
    {
        int s = Subjects.Count(db.RelationCount);
        for (int p = 0; p < db.Count; p++)
            for (int a = 0; a < s; a++)
                yield return Questions.ExampleText(db, Question.OneHop(p, a), cot: false);
        var rng = QaRandom.Derive(0x434F_5250_5553, seed); // "CORPUS"
        for (int p = 0; p < db.Count; p++)
            for (int k = 0; k < twoHopPerProfile; k++)
            {
                var q = new Question(p, rng.Next(db.RelationCount), rng.Next(s), EvalMode.TrainTwohop);
                yield return Questions.ExampleText(db, q, cot: k % 2 == 1);
            }
    }
}
