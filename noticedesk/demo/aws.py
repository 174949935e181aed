"""A demo AWS account for a fake AWS (moto): the problems the sample notices talk about, next to
clean look-alikes, so a diagnosis has something true to find and something fine to leave alone.

Only ever point this at moto: it creates users, keys, instances and public images.
"""

from __future__ import annotations

import json
from typing import Any

from noticedesk.aws.clients import ClientFactory

DEMO_ACCOUNT = "111122223333"
ABUSE_REGION = "ap-northeast-1"
GPU_REGION = "us-west-2"
QUARANTINE_POLICY = "AWSCompromisedKeyQuarantineV3"
"""moto does not ship AWS-managed policies by default; a customer policy of the same name stands in."""


def seed_demo_account(factory: ClientFactory, account_id: str = DEMO_ACCOUNT) -> dict[str, Any]:
    """Plant the demo problems (and clean look-alikes) and return what was planted, by name."""
    planted: dict[str, Any] = {
        "account_id": account_id,
        "abuse_region": ABUSE_REGION,
        "gpu_region": GPU_REGION,
    }
    planted.update(_identities(factory, account_id))
    planted.update(_abuse_region(factory, account_id))
    gpu = factory.client("ec2", GPU_REGION, account_id).run_instances(
        ImageId="ami-12c6146b", InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1
    )
    planted["gpu_instance"] = gpu["Instances"][0]["InstanceId"]
    return planted


def _identities(factory: ClientFactory, account_id: str) -> dict[str, Any]:
    iam = factory.client("iam", None, account_id)
    deny_all = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    )
    quarantine = iam.create_policy(PolicyName=QUARANTINE_POLICY, PolicyDocument=deny_all)["Policy"]["Arn"]
    reader = iam.create_policy(
        PolicyName="ReadOnlyApp",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    iam.create_user(UserName="ci-deployer")
    leaked = iam.create_access_key(UserName="ci-deployer")["AccessKey"]["AccessKeyId"]
    iam.attach_user_policy(UserName="ci-deployer", PolicyArn=quarantine)
    iam.create_user(UserName="app-reader")
    iam.create_access_key(UserName="app-reader")
    iam.attach_user_policy(UserName="app-reader", PolicyArn=reader)
    iam.create_user(UserName="ops-console")
    iam.create_login_profile(UserName="ops-console", Password="Demo-password-1!")
    iam.create_user(UserName="admin-mfa")
    iam.create_login_profile(UserName="admin-mfa", Password="Demo-password-2!")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="admin-mfa")["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName="admin-mfa", SerialNumber=device, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )

    def trust(principal: dict[str, str]) -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
            }
        )

    iam.create_role(
        RoleName="support-backdoor", AssumeRolePolicyDocument=trust({"AWS": "arn:aws:iam::999988887777:root"})
    )
    iam.create_role(RoleName="ec2-app-role", AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"}))
    return {
        "leaked_user": "ci-deployer",
        "leaked_key": leaked,
        "quarantine_policy": quarantine,
        "console_without_mfa": "ops-console",
        "console_with_mfa": "admin-mfa",
        "external_role": "support-backdoor",
        "internal_role": "ec2-app-role",
    }


def _abuse_region(factory: ClientFactory, account_id: str) -> dict[str, Any]:
    ec2 = factory.client("ec2", ABUSE_REGION, account_id)
    open_ssh = ec2.create_security_group(GroupName="open-ssh", Description="ssh from anywhere")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=open_ssh,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    web = ec2.create_security_group(GroupName="web-https", Description="https only")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    reported = ec2.run_instances(
        ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=1, MaxCount=1, SecurityGroupIds=[open_ssh]
    )["Instances"][0]["InstanceId"]
    clean = ec2.run_instances(
        ImageId="ami-12c6146b", InstanceType="t3.small", MinCount=1, MaxCount=1, SecurityGroupIds=[web]
    )["Instances"][0]["InstanceId"]
    address = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(InstanceId=reported, AllocationId=address["AllocationId"])

    public_ami = ec2.create_image(InstanceId=reported, Name="build-agent-golden")["ImageId"]
    ec2.modify_image_attribute(ImageId=public_ami, LaunchPermission={"Add": [{"Group": "all"}]})
    private_ami = ec2.create_image(InstanceId=clean, Name="web-private")["ImageId"]

    volume = ec2.create_volume(AvailabilityZone=f"{ABUSE_REGION}a", Size=8)["VolumeId"]
    public_snapshot = ec2.create_snapshot(VolumeId=volume, Description="db dump")["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=public_snapshot,
        Attribute="createVolumePermission",
        OperationType="add",
        GroupNames=["all"],
    )
    private_snapshot = ec2.create_snapshot(VolumeId=volume, Description="nightly")["SnapshotId"]

    rds = factory.client("rds", ABUSE_REGION, account_id)
    rds.create_db_instance(
        DBInstanceIdentifier="orders", DBInstanceClass="db.t3.micro", Engine="postgres",
        MasterUsername="app", MasterUserPassword="demo-password-3", AllocatedStorage=20,
    )  # fmt: skip
    rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier="orders-public")
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="orders-public", AttributeName="restore", ValuesToAdd=["all"]
    )
    rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier="orders-private")
    return {
        "reported_instance": reported,
        "reported_ip": address["PublicIp"],
        "open_security_group": open_ssh,
        "web_security_group": web,
        "clean_instance": clean,
        "public_ami": public_ami,
        "private_ami": private_ami,
        "public_snapshot": public_snapshot,
        "private_snapshot": private_snapshot,
        "public_db_snapshot": "orders-public",
        "private_db_snapshot": "orders-private",
    }
