using ActorLab.Host.Tests.Infrastructure;
using System.Diagnostics;
using System.Text.Json;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;

namespace ActorLab.Host.Tests.Qa;

/// <summary>End to end: the real `actorlab` executable on a small generated profiles file.</summary>
public sealed class QaCliFixture : IDisposable
{
    public QaCliFixture()
    {
        Dir = Directory.CreateTempSubdirectory("qa-cli").FullName;
        Profiles = Path.Combine(Dir, "profiles.parquet");
        Db = ProfileGenerator.Generate(new ProfileGeneratorConfig(300, 4, Seed: 1), ValueLists.Default);
        ProfileParquet.Write(Db, Profiles);
        Tokenizer = Path.Combine(Dir, "tok");
        var r = ActorLabCli.Run("tokenizer", "train", "--profiles", Profiles, "--out", Tokenizer, "--vocab-size", "800");
        if (r.Exit != 0) throw new InvalidOperationException(r.Err);
    }

    public string Dir { get; }
    public string Profiles { get; }
    public string Tokenizer { get; }
    public ProfileDatabase Db { get; }

    public void Dispose() => Directory.Delete(Dir, true);
}

public class QaCliTests(QaCliFixture fx) : IClassFixture<QaCliFixture>
{

    [Fact]
    public void Tokenizer_train_writes_a_loadable_tokenizer()
    {
        var tok = QaTokenizer.Load(fx.Tokenizer);
        Assert.Equal(800, tok.VocabSize);
        Assert.True(File.Exists(Path.Combine(fx.Tokenizer, "tokenizer.json")));
    }

    [Fact]
    public void Sample_json_lines_carry_text_ids_labels_and_questions()
    {
        var r = ActorLabCli.Run("qa", "sample", "--profiles", fx.Profiles, "--tokenizer", fx.Tokenizer, "--count", "3", "--seq-len", "128", "--json", "--seed", "4");
        Assert.True(r.Exit == 0, r.Err);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        var tok = QaTokenizer.Load(fx.Tokenizer);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var ids = root.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var labels = root.GetProperty("labels").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            Assert.Equal(128, ids.Length);
            Assert.Equal(128, labels.Length);
            Assert.Equal(tok.Decode(ids), root.GetProperty("text").GetString());
            Assert.StartsWith("<|endoftext|>Question: What was ", root.GetProperty("text").GetString());
            var qs = root.GetProperty("questions").EnumerateArray().ToArray();
            Assert.NotEmpty(qs);
            foreach (var q in qs)
            {
                Assert.Contains(q.GetProperty("mode").GetString(), new[] { "train_onehop", "train_twohop" });
                Assert.InRange(q.GetProperty("order").GetInt32(), 1, 2);
                Assert.NotNull(Subjects.TryParse(q.GetProperty("subject").GetString()!, 4));
                int s = q.GetProperty("answer_start").GetInt32(), e = q.GetProperty("answer_end").GetInt32();
                Assert.All(labels[s..e], (l, i) => Assert.Equal(ids[s + i], l));
                if (!q.GetProperty("truncated").GetBoolean())
                    Assert.Equal(" " + q.GetProperty("answer").GetString(), tok.Decode(ids[s..e]));
                Assert.Contains(q.GetProperty("question").GetString()!, root.GetProperty("text").GetString());
            }
        }
    }

    [Fact]
    public void Sample_text_mode_shows_questions_of_the_requested_mode()
    {
        var r = ActorLabCli.Run("qa", "sample", "--profiles", fx.Profiles, "--tokenizer", fx.Tokenizer, "--mode", "eval_second_people", "--count", "1");
        Assert.True(r.Exit == 0, r.Err);
        Assert.Contains("sequence 0: 512 tokens", r.Out);
        Assert.Contains("2-hop eval_second_people", r.Out);
        Assert.DoesNotContain("train_", r.Out);
    }

    [Fact]
    public void Splits_json_has_the_spec_keys()
    {
        var r = ActorLabCli.Run("qa", "splits", "--profiles", fx.Profiles, "--json", "--seed", "2");
        Assert.True(r.Exit == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        var keys = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(
        [
            "first_people", "relations", "person_relation_pairs", "second_people", "second_attributes",
            "second_person_attribute_pairs", "relations_tuples", "second_attribute_tuples", "person_relation_tuples",
            "second_people_tuples", "second_person_attribute_tuples", "complete_two_hop_tuples", "available_training_tuples",
            "held_out_relations", "held_out_second_attributes",
        ], keys);
        var built = HeldOutSplits.Build(fx.Db, 2);
        foreach (var (k, v) in built.Counts()) Assert.Equal(v, doc.RootElement.GetProperty(k).GetInt64());
        Assert.Equal(built.HeldRelations.Select(r => RelationNames.All[r]),
            doc.RootElement.GetProperty("held_out_relations").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(built.SecondAttributes.Select(Subjects.Name),
            doc.RootElement.GetProperty("held_out_second_attributes").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(300L * 4 * 8, keys.Skip(6).Take(7).Sum(k => doc.RootElement.GetProperty(k).GetInt64())
            + 6L * 4 * 8); // + the first_people tuples (max(1, int(300*0.02)) = 6 people)
    }

    [Theory]
    [InlineData("--mode", "eval_nonsense", "eval_nonsense")]
    [InlineData("--orders", "1,3", "--orders")]
    [InlineData("--hop-ratio", "0", "hop_ratio")]
    [InlineData("--seq-len", "16", "too short")]
    public void Bad_sample_flags_fail_with_a_clear_message(string flag, string value, string expected)
    {
        var r = ActorLabCli.Run("qa", "sample", "--profiles", fx.Profiles, "--tokenizer", fx.Tokenizer, flag, value);
        Assert.Equal(2, r.Exit);
        Assert.StartsWith("error: ", r.Err);
        Assert.Contains(expected, r.Err);
    }

    [Fact]
    public void A_tokenizer_folder_without_files_or_eos_is_rejected()
    {
        var empty = Directory.CreateDirectory(Path.Combine(fx.Dir, "empty-tok")).FullName;
        var r = ActorLabCli.Run("qa", "sample", "--profiles", fx.Profiles, "--tokenizer", empty);
        Assert.Equal(2, r.Exit);
        Assert.Contains("vocab.json", r.Err);

        var broken = Directory.CreateDirectory(Path.Combine(fx.Dir, "no-eos-tok")).FullName;
        File.WriteAllText(Path.Combine(broken, "vocab.json"), "{\"<unk>\": 0, \"a\": 1}");
        File.WriteAllText(Path.Combine(broken, "merges.txt"), "#version: 0.2\n");
        r = ActorLabCli.Run("qa", "sample", "--profiles", fx.Profiles, "--tokenizer", broken);
        Assert.Equal(2, r.Exit);
        Assert.Contains("<|endoftext|>", r.Err);
    }
}
