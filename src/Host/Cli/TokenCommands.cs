using System.CommandLine;
using ActorLab.Actors.Gateway;
using ActorLab.Model.Common;

namespace ActorLab.Host.Cli;

/// <summary>
/// `actorlab token issue NAME`: a new operator token, added to the coordinator nodes' tokens file and written to a
/// console token file of its own (both 0600). Copy the tokens file to every coordinator-role node
/// (actorlab.gateway.tokens-file) and give the console file to the person who runs `console --token-file`.
/// </summary>
public static class TokenCommands
{
    public static Command Build()
    {
        var token = new Command("token", "Operator tokens: who may command the cluster's consoles gateway.");
        var name = new Argument<string>("NAME") { Description = "Who holds the token (letters, digits, '-', '_', '.')." };
        var role = new Option<string>("--role") { Description = "operator (every command) or read-only (status, runs, watch).", DefaultValueFactory = _ => "operator" };
        var tokensFile = new Option<string>("--tokens-file") { Description = "The coordinator nodes' tokens file to add it to (created 0600 if missing).", Required = true };
        var output = new Option<string>("--out") { Description = "The console's token file to write (0600; must not exist).", Required = true };
        var issue = new Command("issue", "Make a new operator token: add it to the tokens file and write the console's token file.") { name, role, tokensFile, output };
        issue.SetAction(pr =>
        {
            var r = OperatorTokens.ParseRole(pr.GetValue(role)!, "--role");
            var tokens = Path.GetFullPath(pr.GetValue(tokensFile)!);
            var mine = Path.GetFullPath(pr.GetValue(output)!);
            if (File.Exists(mine) || Directory.Exists(mine)) throw new UserInputException($"--out '{mine}' exists; a token file is never replaced (remove it first).");
            PathChecks.OutputFile("--out", mine);
            PathChecks.OutputFile("--tokens-file", tokens);
            var existing = File.Exists(tokens) ? OperatorTokens.LoadFile(tokens, "--tokens-file") : null;
            var t = OperatorTokens.New(pr.GetValue(name)!, r);
            if (existing?.ContainsKey(t.Name) == true) throw new UserInputException($"--tokens-file already has a token named '{t.Name}'.");
            var lines = (File.Exists(tokens) ? File.ReadAllLines(tokens) : ["# ActorLab operator tokens: NAME ROLE SECRET (actorlab.gateway.tokens-file)"]).Append(OperatorTokens.Line(t));
            WriteSecret(mine, OperatorTokens.Line(t) + "\n");
            WriteSecret(tokens, string.Join("\n", lines) + "\n");
            Console.WriteLine($"token '{t.Name}' ({pr.GetValue(role)}) added to {tokens} and written to {mine}");
            Console.WriteLine($"coordinator nodes: actorlab.gateway.tokens-file = \"{tokens}\"; console: actorlab console --token-file {mine} ...");
            return 0;
        });
        token.Subcommands.Add(issue);
        return token;
    }

    /// <summary>Temp file created 0600 before the secret goes in, then renamed over the target.</summary>
    static void WriteSecret(string path, string text) => AtomicFile.Write(path, s =>
    {
        if (s is FileStream fs && !OperatingSystem.IsWindows()) File.SetUnixFileMode(fs.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        s.Write(System.Text.Encoding.UTF8.GetBytes(text));
    });
}
