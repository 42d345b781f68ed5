#!/usr/bin/env node
// The CDK app: one ChatStack, its props from context (`-c stage=prod -c jwtIssuer=...`; see
// README.md), cdk-nag's AwsSolutions pack as a validation plugin.
//
// CHAT_SKIP_BUNDLING=1 synthesizes with stand-in Lambda code (no Rust build needed): the CLI
// always passes `aws:cdk:bundling-stacks` = ['**'], and postCliContext is the one place where
// the app's own value wins over the CLI's.

import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ChatStack } from '../lib/chat-stack';
import { propsFromContext } from '../lib/context';

const skipBundling = process.env.CHAT_SKIP_BUNDLING === '1';
const app = new App(skipBundling ? { postCliContext: { 'aws:cdk:bundling-stacks': [] } } : {});
const stackName = String(app.node.tryGetContext('stackName') ?? 'chat');
new ChatStack(app, stackName, propsFromContext(app.node));
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
