using MegaFlow.Agents.Model;

namespace MegaFlow.Agents.Tests;

public sealed class ReplyParserTests
{
    [Fact]
    public void One_bash_block_is_the_command_and_the_prose_around_it_is_not()
    {
        var reply = "THOUGHT: the failing test lives in tests/.\n\n```bash\ngrep -rn \"def size\" src/ && ls tests\n```\nThen I will look at it.";
        Assert.Equal(ParsedReply.Run("grep -rn \"def size\" src/ && ls tests"), ReplyParser.Parse(reply));
    }

    [Theory]
    [InlineData("```sh\nls -la\n```")]
    [InlineData("```shell\nls -la\n```")]
    [InlineData("```BASH\r\nls -la\r\n```")]
    [InlineData("  ```bash  \nls -la\n  ```")]
    public void Sh_and_shell_blocks_count_too(string reply) =>
        Assert.Equal(ParsedReply.Run("ls -la"), ReplyParser.Parse(reply));

    [Fact]
    public void A_multi_line_command_is_kept_whole()
    {
        var reply = "```bash\ncat > fix.py <<'EOF'\nprint(1)\nEOF\npython3 fix.py\n```";
        Assert.Equal("cat > fix.py <<'EOF'\nprint(1)\nEOF\npython3 fix.py", ReplyParser.Parse(reply).Command);
    }

    [Fact]
    public void Blocks_in_other_languages_are_not_actions()
    {
        var reply = "The fix:\n```diff\n- a\n+ b\n```\n```python\nprint(2)\n```\n```bash\nsed -i 's/a/b/' x.py\n```";
        Assert.Equal(ParsedReply.Run("sed -i 's/a/b/' x.py"), ReplyParser.Parse(reply));
    }

    [Theory]
    [InlineData("Done.\n```bash\nsubmit\n```")]
    [InlineData("```bash\n  submit  \n```")]
    [InlineData("```bash\nMEGAFLOW_SUBMIT\n```")]
    [InlineData("All tests pass now.\nMEGAFLOW_SUBMIT\n")]
    public void Submit_is_a_block_holding_only_submit_or_a_line_holding_the_marker(string reply) =>
        Assert.Equal(ReplyKind.Submit, ReplyParser.Parse(reply).Kind);

    [Fact]
    public void A_command_that_merely_mentions_submit_is_a_command() =>
        Assert.Equal(ParsedReply.Run("git commit -m submit"), ReplyParser.Parse("```bash\ngit commit -m submit\n```"));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("I would run ls.", "no ```bash code block")]
    [InlineData("```\nls\n```", "no ```bash code block")]
    [InlineData("```bash\nls\n```\n```bash\npwd\n```", "2 ```bash code blocks")]
    [InlineData("```bash\n\n```", "block was empty")]
    [InlineData("```bash\nls -la /very/long/output", "no ```bash code block")] // cut at max_tokens: not run half-written
    public void Anything_else_is_a_format_error_that_says_what_is_wrong_and_what_is_expected(string reply, string problem)
    {
        var parsed = ReplyParser.Parse(reply);
        Assert.Equal(ReplyKind.FormatError, parsed.Kind);
        Assert.Contains(problem, parsed.Error);
        Assert.Contains("exactly one ```bash code block", parsed.Error);
    }
}
