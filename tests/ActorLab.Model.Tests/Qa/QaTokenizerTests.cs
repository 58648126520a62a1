using ActorLab.Model.Common;
using ActorLab.Model.Profiles;
using ActorLab.Model.Qa;
using Microsoft.ML.Tokenizers;

namespace ActorLab.Model.Tests.Qa;

public class QaTokenizerTests
{
    static readonly Lazy<(ActorLab.Model.Profiles.ProfileDatabase Db, QaTokenizer Tok)> Shared = new(() =>
    {
        var db = TestProfiles.Create(300, relations: 4, seed: 5);
        return (db, TestProfiles.Tokenizer(db));
    });

    [Fact]
    public void Training_is_deterministic_and_fills_the_vocabulary()
    {
        var db = TestProfiles.Create(120, 4, seed: 9);
        var a = QaTokenizer.Train(QaCorpus.Texts(db, 1), 500);
        var b = QaTokenizer.Train(QaCorpus.Texts(db, 1), 500);
        Assert.Equal(500, a.VocabSize);
        Assert.Equal(Enumerable.Range(0, a.VocabSize).Select(a.TokenOf), Enumerable.Range(0, b.VocabSize).Select(b.TokenOf));
        Assert.Equal(0, a.EosId);
        Assert.Equal(a.EosId, a.BosId);
        Assert.Equal("<|endoftext|>", a.TokenOf(a.EosId));
        Assert.Equal("<unk>", a.TokenOf(a.UnknownId));
    }

    [Fact]
    public void Learned_merges_compress_the_training_text()
    {
        var (db, tok) = Shared.Value;
        var text = Questions.ExampleText(db, Question.OneHop(7, 1), cot: false);
        var ids = tok.Encode(text);
        Assert.True(ids.Length < System.Text.Encoding.UTF8.GetByteCount(text) / 2, $"{ids.Length} tokens for {text.Length} chars");
        // Frequent template words become single tokens.
        Assert.Single(tok.Encode(" Answer"));
        Assert.Single(tok.Encode("Question"));
    }

    [Theory]
    [InlineData("Question: What was Zoë D'Arcy Jr.'s birth date? Answer: 1950-03-12")]
    [InlineData("<|endoftext|>Question: x Answer: y<|endoftext|>Question: z")]
    [InlineData("unseen text: ünïcödé ∑ 日本語 emoji 🙂, tabs\tand  double  spaces\n")]
    public void Encode_then_decode_round_trips(string text)
    {
        var (_, tok) = Shared.Value;
        var ids = tok.Encode(text);
        Assert.Equal(text, tok.Decode(ids));
        Assert.Equal(text.Split("<|endoftext|>").Length - 1, ids.Count(i => i == tok.EosId));
    }

    [Fact]
    public void Save_and_load_give_identical_encodings_and_the_files_load_in_Microsoft_ML_Tokenizers()
    {
        var (db, tok) = Shared.Value;
        var dir = Directory.CreateTempSubdirectory("qa-tok").FullName;
        try
        {
            tok.Save(dir);
            foreach (var f in new[] { "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })
                Assert.True(File.Exists(Path.Combine(dir, f)), f);
            var loaded = QaTokenizer.Load(dir);
            Assert.Equal(tok.VocabSize, loaded.VocabSize);
            Assert.Equal(tok.EosId, loaded.EosId);

            // An independent Microsoft.ML.Tokenizers instance straight from the GPT-2 files.
            var special = new Dictionary<string, int> { ["<|endoftext|>"] = tok.EosId, ["<unk>"] = tok.UnknownId };
            var ml = BpeTokenizer.Create(new BpeOptions(Path.Combine(dir, "vocab.json"), Path.Combine(dir, "merges.txt"))
            {
                ByteLevel = true,
                SpecialTokens = special,
                PreTokenizer = new RegexPreTokenizer(ByteLevel.Gpt2Regex(), special),
            });
            for (int p = 0; p < 50; p++)
            {
                var q = new Question(p, p % 4, p % 8, EvalMode.TrainTwohop);
                var text = "<|endoftext|>" + Questions.ExampleText(db, q, cot: p % 2 == 0);
                var ids = tok.Encode(text);
                Assert.Equal(ids, loaded.Encode(text));
                Assert.Equal(ids, ml.EncodeToIds(text).ToArray());
                Assert.Equal(text, ml.Decode(ids));
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Loading_a_bad_folder_names_the_problem()
    {
        var dir = Directory.CreateTempSubdirectory("qa-tok-bad").FullName;
        try
        {
            var e = Assert.Throws<UserInputException>(() => QaTokenizer.Load(Path.Combine(dir, "missing")));
            Assert.Contains("does not exist", e.Message);
            e = Assert.Throws<UserInputException>(() => QaTokenizer.Load(dir));
            Assert.Contains("vocab.json", e.Message);

            File.WriteAllText(Path.Combine(dir, "vocab.json"), "{\"a\": 0, \"b\": 1, \"<unk>\": 2}");
            File.WriteAllText(Path.Combine(dir, "merges.txt"), "#version: 0.2\n");
            e = Assert.Throws<UserInputException>(() => QaTokenizer.Load(dir));
            Assert.Contains("<|endoftext|>", e.Message);

            File.WriteAllText(Path.Combine(dir, "vocab.json"), "not json");
            e = Assert.Throws<UserInputException>(() => QaTokenizer.Load(dir));
            Assert.Contains("vocab.json", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Vocab_size_below_the_byte_alphabet_is_rejected()
    {
        var e = Assert.Throws<UserInputException>(() => QaTokenizer.Train(["hello"], 100));
        Assert.Contains("vocab-size", e.Message);
    }
}
